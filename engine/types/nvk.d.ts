// nvk 0.8.0 ships its typings under generated/<version>/<platform>/ without a "types" entry that
// TypeScript can resolve; this re-exports the Linux ones as the module "nvk".
declare module "nvk" {
  export * from "nvk/generated/1.1.126/linux/index";
}
