// nvk 0.8.0's own typings cannot be used: its generated index.d.ts declares every class as a non-exported
// `declare var`. vkmem loads nvk in one place (engine/vulkan/nvk.ts) and treats it as untyped; the narrower
// types it needs (handle objects, VkInout) live next to the code that uses them.
declare module "nvk" {
  const nvk: any;
  export default nvk;
}
