/**
 * Views of a FrameManager texture's image: its default view (every mip) and a streamed texture's view of the mips
 * uploaded so far. The addon makes them from its record of the image in one call (VmaMemory.createImageView,
 * native/allocation.cpp), which checks every value against that record; an image of a buddy pool, which the addon
 * does not record (the pool binds images into its own blocks), gets its views through nvk. They are destroyed the same
 * way they were made (destroyImageView).
 * @internal
 * @module
 */
import type { Allocation } from "../memory/allocation.js";
import type { Allocator } from "../memory/allocator.js";
import { BuddyAllocation } from "../memory/buddy-allocation.js";
import { recycleImageView } from "../memory/vma-memory.js";
import { HandleCellPool, type NvkHandle } from "../vulkan/handles.js";
import { nvk } from "../vulkan/nvk.js";

/**
 * A view of type `viewType` of mips [baseMip, mipLevels) of every layer of `image` (of `format`, `mipLevels` mips and
 * `arrayLayers` layers; its allocation `allocation`, of `allocator`), `aspect`; the caller owns it. Returns the
 * VkResult instead when vkCreateImageView fails. Positional, as it runs per texture made: no object per call.
 * @throws RangeError (from the addon) when the view type, aspect or mips do not suit the image: a vkmem bug, since
 *   the callers pass what createTexture checked.
 */
export function createImageView(
  allocator: Allocator,
  allocation: Allocation,
  image: NvkHandle,
  viewType: number,
  format: number,
  aspect: number,
  baseMip: number,
  mipLevels: number,
  arrayLayers: number,
): NvkHandle | number {
  const levelCount = mipLevels - baseMip;
  if (!(allocation instanceof BuddyAllocation))
    return allocator._vma.createImageView(allocation, viewType, aspect, baseMip, levelCount);
  const view = new nvk.VkImageView();
  const info = new nvk.VkImageViewCreateInfo({
    image,
    viewType,
    format,
    subresourceRange: new nvk.VkImageSubresourceRange({
      aspectMask: aspect,
      baseMipLevel: baseMip,
      levelCount,
      baseArrayLayer: 0,
      layerCount: arrayLayers,
    }),
  });
  const made = nvk.vkCreateImageView(allocator.device, info, null, view);
  return made < 0 ? made : view;
}

/**
 * Destroys `view`, a view of an image of `allocator` that no pending work uses, as {@link createImageView} made it: a
 * view the addon made, in one native call, its handle object's cell given back (it reads as VK_NULL_HANDLE from then
 * on); through nvk otherwise (a buddy pool's texture). nvk's vkDestroyImageView reads the handle object's properties
 * by name, a string made per read: 1.5 µs of a texture's hot createTexture + destroy() on the two-core machine.
 */
export function destroyImageView(allocator: Allocator, view: NvkHandle): void {
  if (HandleCellPool.holdsCell(view)) {
    // A pooled handle object: VmaMemory.createImageView made it (nvk's views hold no cell).
    allocator._native.destroyImageView(allocator._handle, view.memoryBuffer);
    recycleImageView(view);
  } else nvk.vkDestroyImageView(allocator.device, view, null);
}
