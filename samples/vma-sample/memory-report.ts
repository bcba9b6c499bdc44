/**
 * What VMA's sample prints at start: the memory heaps and types, and its "Conclusions" about them; plus, here,
 * what those facts mean for this sample's own resources.
 * @module
 */
import { formatBytes } from "../../engine/format.js";
import { memoryHeapNames, memoryPropertyNames, nvk, type Allocator, type Context } from "../../engine/index.js";

const DEVICE_LOCAL = 0x1;
const HOST_VISIBLE = 0x2;
const HOST_COHERENT = 0x4;
const LAZILY_ALLOCATED = 0x10;
const AMD_SPECIFIC = 0x40 | 0x80; // DEVICE_COHERENT_AMD | DEVICE_UNCACHED_AMD
const HEAP_DEVICE_LOCAL = 0x1;
const VENDOR_AMD = 0x1002;

/** The heaps with their types, one line each, as the original's PrintMemoryTypes. */
export function memoryTypeLines(allocator: Allocator): string[] {
  const lines = [`Memory heaps: ${allocator.memoryHeaps.length}, memory types: ${allocator.memoryTypes.length}`];
  allocator.memoryHeaps.forEach((heap, h) => {
    lines.push(`Heap ${h}: ${formatBytes(heap.size)} ${memoryHeapNames(heap.flags).join(", ")}`.trimEnd());
    allocator.memoryTypes.forEach((type, t) => {
      if (type.heapIndex === h)
        lines.push(`  Type ${t}: ${memoryPropertyNames(type.propertyFlags).join(", ") || "(no flags)"}`);
    });
  });
  return lines;
}

/** Whether a buffer or image of this kind may live in one of `typeBits` (from its memory requirements). */
function fitsTypes(context: Context, typeBits: number, image: boolean): boolean {
  const device = context.device;
  const requirements = new nvk.VkMemoryRequirements();
  if (image) {
    const handle = new nvk.VkImage();
    const info = new nvk.VkImageCreateInfo({
      imageType: nvk.VK_IMAGE_TYPE_2D,
      format: nvk.VK_FORMAT_R8G8B8A8_UNORM,
      extent: new nvk.VkExtent3D({ width: 256, height: 256, depth: 1 }),
      mipLevels: 1,
      arrayLayers: 1,
      samples: nvk.VK_SAMPLE_COUNT_1_BIT,
      tiling: nvk.VK_IMAGE_TILING_OPTIMAL,
      usage: nvk.VK_IMAGE_USAGE_TRANSFER_DST_BIT | nvk.VK_IMAGE_USAGE_SAMPLED_BIT,
      sharingMode: nvk.VK_SHARING_MODE_EXCLUSIVE,
      initialLayout: nvk.VK_IMAGE_LAYOUT_UNDEFINED,
    });
    if (nvk.vkCreateImage(device, info, null, handle) !== 0) return false;
    nvk.vkGetImageMemoryRequirements(device, handle, requirements);
    nvk.vkDestroyImage(device, handle, null);
  } else {
    const handle = new nvk.VkBuffer();
    const info = new nvk.VkBufferCreateInfo({
      size: 0x10000,
      usage: nvk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | nvk.VK_BUFFER_USAGE_TRANSFER_DST_BIT,
    });
    if (nvk.vkCreateBuffer(device, info, null, handle) !== 0) return false;
    nvk.vkGetBufferMemoryRequirements(device, handle, requirements);
    nvk.vkDestroyBuffer(device, handle, null);
  }
  return (requirements.memoryTypeBits & typeBits) !== 0;
}

/**
 * The original's conclusions about the heaps and types (in its order), then what they mean for this sample.
 * Creates and destroys two probe objects (a buffer and an image, no memory) when some heap is not DEVICE_LOCAL.
 */
export function conclusionLines(context: Context, allocator: Allocator): string[] {
  const heaps = allocator.memoryHeaps;
  const types = allocator.memoryTypes;
  const heapHasType = (h: number, flag: number) =>
    types.some((t) => t.heapIndex === h && (t.propertyFlags & flag) !== 0);
  let deviceLocal = 0,
    deviceLocalBytes = 0,
    hostVisible = 0,
    hostVisibleBytes = 0,
    both = 0,
    bothBytes = 0;
  heaps.forEach((heap, h) => {
    const dl = (heap.flags & HEAP_DEVICE_LOCAL) !== 0;
    const hv = heapHasType(h, HOST_VISIBLE);
    if (dl) (deviceLocal++, (deviceLocalBytes += heap.size));
    if (hv) (hostVisible++, (hostVisibleBytes += heap.size));
    if (dl && hv) (both++, (bothBytes += heap.size));
  });
  const count = (test: (flags: number) => boolean) => types.filter((t) => test(t.propertyFlags)).length;
  const visibleNotCoherent = count((f) => (f & HOST_VISIBLE) !== 0 && (f & HOST_COHERENT) === 0);
  const neither = count((f) => (f & (DEVICE_LOCAL | HOST_VISIBLE)) === 0);
  const amd = count((f) => (f & AMD_SPECIFIC) !== 0);
  const lazy = count((f) => (f & LAZILY_ALLOCATED) !== 0);
  const some = (n: number, what: string, none: string) =>
    n === 0 ? `- ${none}` : `- ${n} type${n > 1 ? "s are" : " is"} ${what}.`;

  const lines = ["Conclusions:"];
  lines.push(
    deviceLocal === heaps.length
      ? "- All heaps are DEVICE_LOCAL."
      : `- ${deviceLocal} heap(s) are DEVICE_LOCAL, ${formatBytes(deviceLocalBytes)} in all.`,
  );
  lines.push(
    hostVisible === heaps.length
      ? "- All heaps are HOST_VISIBLE."
      : `- ${hostVisible} heap(s) are HOST_VISIBLE, ${formatBytes(hostVisibleBytes)} in all.`,
  );
  if (deviceLocal < heaps.length && hostVisible < heaps.length) {
    lines.push(
      both === 0
        ? "- No heap is both DEVICE_LOCAL and HOST_VISIBLE."
        : `- ${both} heap(s) are both DEVICE_LOCAL and HOST_VISIBLE, ${formatBytes(bothBytes)} in all.`,
    );
  }
  lines.push(
    some(visibleNotCoherent, "HOST_VISIBLE but not HOST_COHERENT", "No type is HOST_VISIBLE but not HOST_COHERENT."),
  );
  lines.push(
    some(neither, "neither DEVICE_LOCAL nor HOST_VISIBLE", "No type is neither DEVICE_LOCAL nor HOST_VISIBLE."),
  );
  lines.push(
    some(
      amd,
      "AMD-specific DEVICE_COHERENT or DEVICE_UNCACHED",
      "No type is AMD-specific DEVICE_COHERENT or DEVICE_UNCACHED.",
    ),
  );
  lines.push(some(lazy, "LAZILY_ALLOCATED", "No type is LAZILY_ALLOCATED."));
  const props = new nvk.VkPhysicalDeviceProperties();
  nvk.vkGetPhysicalDeviceProperties(context.physicalDevice, props);
  if (props.vendorID === VENDOR_AMD && context.deviceType === "discrete" && bothBytes > 256 * 1024 * 1024) {
    lines.push("- AMD Smart Access Memory (resizable BAR) is on.");
  }
  if (deviceLocal < heaps.length) {
    const nonDeviceLocalTypes = types.reduce(
      (bits, t, i) => ((t.propertyFlags & DEVICE_LOCAL) === 0 ? bits | (1 << i) : bits),
      0,
    );
    lines.push(
      `- A VERTEX_BUFFER buffer ${fitsTypes(context, nonDeviceLocalTypes, false) ? "can" : "cannot"} live in a non-DEVICE_LOCAL type.`,
    );
    lines.push(
      `- An OPTIMAL, SAMPLED image ${fitsTypes(context, nonDeviceLocalTypes, true) ? "can" : "cannot"} live in a non-DEVICE_LOCAL type.`,
    );
  }

  lines.push("For this sample:");
  const unified = types.every(
    (t) => (t.propertyFlags & (DEVICE_LOCAL | HOST_VISIBLE)) === (DEVICE_LOCAL | HOST_VISIBLE),
  );
  const deviceOnly = types.some(
    (t) => (t.propertyFlags & DEVICE_LOCAL) !== 0 && (t.propertyFlags & HOST_VISIBLE) === 0,
  );
  const largeBar = types.some(
    (t) =>
      (t.propertyFlags & (DEVICE_LOCAL | HOST_VISIBLE)) === (DEVICE_LOCAL | HOST_VISIBLE) &&
      heaps[t.heapIndex]!.size > 256 * 1024 * 1024 &&
      (heaps[t.heapIndex]!.flags & HEAP_DEVICE_LOCAL) !== 0,
  );
  if (unified) {
    lines.push(
      "- Every memory type is DEVICE_LOCAL and HOST_VISIBLE (a CPU device or an integrated GPU): the GPU reads what the CPU",
    );
    lines.push(
      "  writes where it lies, so the staging copies of the mesh and the texture are one copy more than needed. The sample",
    );
    lines.push(
      "  stages anyway (through the FrameManager's staging ring), as the original does: a discrete GPU needs it.",
    );
  } else if (deviceOnly) {
    lines.push(
      "- The vertex and index buffers, the texture and the depth image go to DEVICE_LOCAL memory the CPU cannot map:",
    );
    lines.push(
      "  the mesh and the texture arrive through the FrameManager's staging ring (mapped HOST_VISIBLE memory) and a GPU copy.",
    );
    if (largeBar)
      lines.push(
        "- A DEVICE_LOCAL | HOST_VISIBLE type spans a large heap (resizable BAR): per-frame data could be written in place.",
      );
  }
  lines.push(
    "- The depth image is re-created through the allocator on every resize; the old one is freed once no frame uses it.",
  );
  return lines;
}
