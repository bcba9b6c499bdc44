// Allocations: create buffer/image with memory, raw memory, bind, free, info, names, mapping.
// The hot calls read their inputs from the scratch buffer and write results into it (addon.h).
// Every value read from the scratch is checked here again: TS checks first and gives the good
// messages, but nothing that reaches this file may crash the process.
#include <cmath>
#include <cstring>

#include "addon.h"
#include "deferred_free.h"

namespace vkmem {

namespace {
constexpr double kMaxU32 = 4294967295.0;
constexpr double kMaxSafe = 9007199254740991.0;  // 2^53 - 1
}  // namespace

bool Addon::ReadAllocationCreateInfo(Napi::Env env, VmaAllocationCreateInfo& out, const char* operation,
                                     uint32_t allocatorIndex, uint32_t* poolIndexOut) {
  const double flags = f64[Scratch::kAllocFlags], usage = f64[Scratch::kAllocUsage];
  const double required = f64[Scratch::kAllocRequired], preferred = f64[Scratch::kAllocPreferred];
  const double typeBits = f64[Scratch::kAllocTypeBits], pool = f64[Scratch::kAllocPool];
  const double priority = f64[Scratch::kAllocPriority];
  // The VMA flags vkmem knows. USER_DATA_COPY_STRING would make VMA read pUserData (a Number here) as
  // a C string: refused. UPPER_ADDRESS is checked below: it needs a single-block linear pool.
  constexpr uint32_t kKnownFlags = 0x71FC7;
  constexpr uint32_t kUpperAddress = 0x40, kDedicated = 0x1;
  if (!IsUint(flags, kMaxU32) || (static_cast<uint32_t>(flags) & ~kKnownFlags) != 0) {
    throw RangeErrorFor(env, std::string(operation) + ": allocation flags out of range");
  }
  if (!IsUint(usage, VMA_MEMORY_USAGE_AUTO_PREFER_HOST)) {
    throw RangeErrorFor(env, std::string(operation) + ": memory usage out of range");
  }
  if (!IsUint(required, kMaxU32) || !IsUint(preferred, kMaxU32) || !IsUint(typeBits, kMaxU32)) {
    throw RangeErrorFor(env, std::string(operation) + ": memory property flags or type bits out of range");
  }
  // A pool is trusted only when its handle is live and it belongs to this very allocator: VMA would
  // otherwise allocate another allocator's memory through this one.
  uint32_t poolIndex = 0;
  PoolSlot* poolSlot = nullptr;
  if (pool != 0) {
    poolSlot = PoolFromNumber(pool, &poolIndex);
    if (poolSlot == nullptr) throw Napi::Error::New(env, std::string("vkmem native: ") + operation + ": stale or invalid pool handle");
    if (poolSlot->allocator != allocatorIndex) {
      throw TypeErrorFor(env, std::string(operation) + ": the pool belongs to another allocator");
    }
  }
  const uint32_t flagBits = static_cast<uint32_t>(flags);
  if ((flagBits & kUpperAddress) != 0 && (poolSlot == nullptr || !poolSlot->linear || !poolSlot->singleBlock)) {
    throw RangeErrorFor(env, std::string(operation) + ": upper-address allocations need a linear pool of one block");
  }
  if ((flagBits & kDedicated) != 0 && poolSlot != nullptr && poolSlot->explicitBlockSize) {
    throw RangeErrorFor(env, std::string(operation) + ": a pool with a fixed block size cannot make dedicated allocations");
  }
  if (!(priority >= 0 && priority <= 1)) throw RangeErrorFor(env, std::string(operation) + ": priority must be in [0, 1]");
  out = {};
  out.flags = static_cast<VmaAllocationCreateFlags>(flags);
  out.usage = static_cast<VmaMemoryUsage>(static_cast<int>(usage));
  out.requiredFlags = static_cast<VkMemoryPropertyFlags>(required);
  out.preferredFlags = static_cast<VkMemoryPropertyFlags>(preferred);
  out.memoryTypeBits = static_cast<uint32_t>(typeBits);
  out.pool = poolSlot != nullptr ? poolSlot->pool : VK_NULL_HANDLE;
  if (poolIndexOut != nullptr) *poolIndexOut = poolIndex;
  out.priority = static_cast<float>(priority);
  return true;
}

// VmaAllocationCreateInfo::minAlignment (VMA 3.4 honours it in every allocation): 0 or a power of two, which
// VMA asserts on.
VkDeviceSize Addon::ReadMinAlignment(Napi::Env env) {
  const double a = f64[Scratch::kAllocMinAlignment];
  if (!IsUint(a, kMaxSafe)) throw RangeErrorFor(env, "minAlignment out of range");
  const uint64_t v = static_cast<uint64_t>(a);
  if ((v & (v - 1)) != 0) throw RangeErrorFor(env, "minAlignment must be 0 or a power of two");
  return static_cast<VkDeviceSize>(v);
}

// Every creation writes the block's size and whether it is dedicated too (VmaAllocationInfo2): a recording needs
// them for each allocation, and a second native call to learn them cost more than the whole record.
void Addon::FillAllocationOutputs(VmaAllocator allocator, VmaAllocation allocation, double handle) {
  VmaAllocationInfo2 ai2;
  vmaGetAllocationInfo2(allocator, allocation, &ai2);
  const VmaAllocationInfo& ai = ai2.allocationInfo;
  f64[Scratch::kOutBlockSize] = static_cast<double>(ai2.blockSize);
  f64[Scratch::kOutDedicated] = ai2.dedicatedMemory ? 1 : 0;
  f64[Scratch::kOutAllocation] = handle;
  u64[Scratch::kOutMemory] = reinterpret_cast<uint64_t>(ai.deviceMemory);
  f64[Scratch::kOutMemoryType] = ai.memoryType;
  f64[Scratch::kOutOffset] = static_cast<double>(ai.offset);
  f64[Scratch::kOutSize] = static_cast<double>(ai.size);
  f64[Scratch::kOutMapped] = static_cast<double>(reinterpret_cast<uintptr_t>(ai.pMappedData));
  f64[Scratch::kOutUserData] = static_cast<double>(reinterpret_cast<uintptr_t>(ai.pUserData));
}

// Records a successful allocation in the slot table; on failure returns the VkResult for TS to throw.
Napi::Value Addon::FinishAllocation(Napi::Env env, const char* operation, uint32_t allocatorIndex, VkResult result,
                                    VmaAllocation allocation, Kind kind, uint64_t resource, bool ownsResource,
                                    uint32_t poolIndex, napi_value name, bool traced,
                                    const VkImageCreateInfo* image, const VkBufferCreateInfo* buffer) {
  AllocatorSlot& slot = allocators[allocatorIndex];
  if (result != VK_SUCCESS) {
    // A linear pool of one block is a ring buffer or a double stack, whichever its allocations made it; which one it
    // is now lives in VMA's metadata only, so this precondition is known after the call: VMA asserted and refused
    // the allocation (nothing was made), and the caller gets a typed error naming the option.
    if (VmaAssertMentions("already being used as ring buffer")) {
      TakeVmaMessagesSince(VmaMessageMark{0, false});
      throw RangeErrorFor(env, std::string(operation) +
                                   ": allocationOptions.upperAddress cannot be used while the linear pool is in use as a "
                                   "ring buffer (its allocations wrapped around the block); a pool is one or the other");
    }
    ThrowIfVmaAsserted(env, operation);
    return Napi::Number::New(env, result);
  }
  if (VmaAssertedThisCall()) {
    // VMA asserted yet allocated: a precondition TS missed. Give the allocation back before throwing, so that
    // JS (which never sees it) and VMA agree, and nothing is reported as a leak later.
    if (ownsResource && kind == Kind::Buffer) vmaDestroyBuffer(slot.allocator, reinterpret_cast<VkBuffer>(resource), allocation);
    else if (ownsResource && kind == Kind::Image) vmaDestroyImage(slot.allocator, reinterpret_cast<VkImage>(resource), allocation);
    else vmaFreeMemory(slot.allocator, allocation);
    ThrowIfVmaAsserted(env, operation);
  }
  uint32_t index = NewAllocationSlot(allocatorIndex, allocation, kind, resource, ownsResource);
  if (index == 0) {  // 2^24 live allocations: give everything back rather than lose track of it
    if (ownsResource && kind == Kind::Buffer) vmaDestroyBuffer(slot.allocator, reinterpret_cast<VkBuffer>(resource), allocation);
    else if (ownsResource && kind == Kind::Image) vmaDestroyImage(slot.allocator, reinterpret_cast<VkImage>(resource), allocation);
    else vmaFreeMemory(slot.allocator, allocation);
    return Napi::Number::New(env, VK_ERROR_TOO_MANY_OBJECTS);
  }
  if (poolIndex != 0) {
    allocations[index].pool = poolIndex;
    pools[poolIndex].liveAllocations++;
  }
  if (buffer != nullptr) Keep(buffers, index, BufferRecord{0, buffer->usage, buffer->size});
  if (image != nullptr) {
    Keep(images, index,
         ImageRecord{0, static_cast<uint32_t>(image->format), static_cast<uint32_t>(image->imageType),
                     image->mipLevels, image->arrayLayers, image->usage, image->flags, image->extent.width,
                     image->extent.height, image->extent.depth});
  }
  // The name as the trace records it (trace_sink.h): none, or the short one converted here; a long one is left to TS.
  char small[256];
  size_t traceNameLength = 0;
  bool traceable = traced && slot.trace != nullptr && poolIndex == 0;
  if (name != nullptr) {
    // The allocation's name, given with the call (a FrameManager's label: TS checked it is a string without NUL),
    // saves a setAllocationName call per resource.
    napi_valuetype type = napi_undefined;
    if (napi_typeof(env, name, &type) == napi_ok && type == napi_string) {
      size_t length = 0;
      napi_get_value_string_utf8(env, name, small, sizeof small, &length);
      if (length < sizeof small - 1) {
        vmaSetAllocationName(slot.allocator, allocation, small);
        traceNameLength = length;
      } else {
        std::string full = Napi::Value(env, name).As<Napi::String>().Utf8Value();
        vmaSetAllocationName(slot.allocator, allocation, full.c_str());
        traceable = false;
      }
    }
  }
  u64[Scratch::kOutResource] = resource;
  FillAllocationOutputs(slot.allocator, allocation, EncodeHandle(allocations[index].generation, index));
  if (traceable) {
    TraceAllocate(*slot.trace, f64, u64[Scratch::kOutMemory], static_cast<int>(kind) - static_cast<int>(Kind::Memory),
                  small, traceNameLength);
  }
  return Napi::Number::New(env, VK_SUCCESS);
}

// A VkBufferCreateInfo from the scratch: in[0] size, in[1] usage, in[2] create flags, in[3] sharing mode.
void Addon::ReadBufferCreateInfo(Napi::Env env, VkBufferCreateInfo& bci) {
  const double* in = f64 + Scratch::kIn0;
  if (!(in[0] >= 1 && in[0] <= kMaxSafe) || std::floor(in[0]) != in[0]) throw RangeErrorFor(env, "buffer size out of range");
  // Sharing mode: exclusive only (concurrent would need pQueueFamilyIndices).
  if (!IsUint(in[1], kMaxU32) || !IsUint(in[2], kMaxU32) || in[3] != 0) {
    throw RangeErrorFor(env, "buffer usage, flags or sharing mode out of range");
  }
  bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = static_cast<VkDeviceSize>(in[0]);
  bci.usage = static_cast<VkBufferUsageFlags>(in[1]);
  bci.flags = static_cast<VkBufferCreateFlags>(in[2]);
  bci.sharingMode = static_cast<VkSharingMode>(static_cast<int>(in[3]));
}

// createBuffer(allocator, name?): the buffer description (ReadBufferCreateInfo) and the allocation create info; a
// string `name` becomes the allocation's name.
Napi::Value Addon::CreateBuffer(Napi::Env env, napi_value arg) {
  RequireScratch(env);
  uint32_t ai = 0;
  AllocatorSlot& slot = AllocatorFrom(env, arg, &ai);
  VkBufferCreateInfo bci;
  ReadBufferCreateInfo(env, bci);
  VmaAllocationCreateInfo aci;
  uint32_t poolIndex = 0;
  ReadAllocationCreateInfo(env, aci, "vmaCreateBuffer", ai, &poolIndex);
  const VkDeviceSize minAlignment = ReadMinAlignment(env);
  VkBuffer buffer = VK_NULL_HANDLE;
  VmaAllocation allocation = VK_NULL_HANDLE;
  VkResult r = minAlignment > 0
                   ? vmaCreateBufferWithAlignment(slot.allocator, &bci, &aci, minAlignment,
                                                  &buffer, &allocation, nullptr)
                   : vmaCreateBuffer(slot.allocator, &bci, &aci, &buffer, &allocation, nullptr);
  return FinishAllocation(env, "vmaCreateBuffer", ai, r, allocation, Kind::Buffer, reinterpret_cast<uint64_t>(buffer), true, poolIndex,
                          hotSecondArg, true, nullptr, &bci);
}

// A VkImageCreateInfo from the scratch: in[0] imageType, [1] format, [2..4] extent, [5] mipLevels,
// [6] arrayLayers, [7] samples, [8] tiling, [9] usage, [10] flags, [11] initialLayout, [12] sharing mode.
void Addon::ReadImageCreateInfo(Napi::Env env, VkImageCreateInfo& ici) {
  const double* in = f64 + Scratch::kIn0;
  for (int i = 0; i <= 12; ++i) {
    if (!IsUint(in[i], kMaxU32)) throw RangeErrorFor(env, "image parameter " + std::to_string(i) + " out of range");
  }
  if (in[2] < 1 || in[3] < 1 || in[4] < 1 || in[5] < 1 || in[6] < 1 || in[7] < 1) {
    throw RangeErrorFor(env, "image extent, mip levels, layers and samples must be >= 1");
  }
  if (in[12] != 0) throw RangeErrorFor(env, "image sharing mode must be exclusive");
  ici = {VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
  ici.imageType = static_cast<VkImageType>(static_cast<uint32_t>(in[0]));
  ici.format = static_cast<VkFormat>(static_cast<uint32_t>(in[1]));
  ici.extent = {static_cast<uint32_t>(in[2]), static_cast<uint32_t>(in[3]), static_cast<uint32_t>(in[4])};
  ici.mipLevels = static_cast<uint32_t>(in[5]);
  ici.arrayLayers = static_cast<uint32_t>(in[6]);
  ici.samples = static_cast<VkSampleCountFlagBits>(static_cast<uint32_t>(in[7]));
  ici.tiling = static_cast<VkImageTiling>(static_cast<uint32_t>(in[8]));
  ici.usage = static_cast<VkImageUsageFlags>(in[9]);
  ici.flags = static_cast<VkImageCreateFlags>(in[10]);
  ici.initialLayout = static_cast<VkImageLayout>(static_cast<uint32_t>(in[11]));
  ici.sharingMode = static_cast<VkSharingMode>(static_cast<uint32_t>(in[12]));
}

// createImage(allocator, name?): the image description (ReadImageCreateInfo) and the allocation create info, and name.
Napi::Value Addon::CreateImage(Napi::Env env, napi_value arg) {
  RequireScratch(env);
  uint32_t ai = 0;
  AllocatorSlot& slot = AllocatorFrom(env, arg, &ai);
  VkImageCreateInfo ici;
  ReadImageCreateInfo(env, ici);
  VmaAllocationCreateInfo aci;
  uint32_t poolIndex = 0;
  ReadAllocationCreateInfo(env, aci, "vmaCreateImage", ai, &poolIndex);
  VkImage image = VK_NULL_HANDLE;
  VmaAllocation allocation = VK_NULL_HANDLE;
  VkResult r = vmaCreateImage(slot.allocator, &ici, &aci, &image, &allocation, nullptr);
  return FinishAllocation(env, "vmaCreateImage", ai, r, allocation, Kind::Image, reinterpret_cast<uint64_t>(image), true, poolIndex,
                          hotSecondArg, true, &ici);
}

VkImageAspectFlags AspectOf(VkFormat format) {
  switch (format) {
    case VK_FORMAT_D16_UNORM:
    case VK_FORMAT_X8_D24_UNORM_PACK32:
    case VK_FORMAT_D32_SFLOAT:
      return VK_IMAGE_ASPECT_DEPTH_BIT;
    case VK_FORMAT_S8_UINT:
      return VK_IMAGE_ASPECT_STENCIL_BIT;
    case VK_FORMAT_D16_UNORM_S8_UINT:
    case VK_FORMAT_D24_UNORM_S8_UINT:
    case VK_FORMAT_D32_SFLOAT_S8_UINT:
      return VK_IMAGE_ASPECT_DEPTH_BIT | VK_IMAGE_ASPECT_STENCIL_BIT;
    default:
      return VK_IMAGE_ASPECT_COLOR_BIT;
  }
}

// createImageView(allocation, viewType, aspect, baseMip?, levelCount?) -> VkResult: a view of the image vkmem created
// with `allocation` (createImage): mips [baseMip, baseMip + levelCount) (default: all of them) of every layer,
// `aspect`: some of its format's aspects, the image's format, identity swizzle; written to kOutResource as u64 on
// success. The caller owns it (destroys it with vkDestroyImageView, or hands its bytes to freeResources): a FrameManager
// texture's default view, a streamed texture's view of its uploaded mips. Made here, in one call: through nvk, the
// handle object, the create info's setters and nvk's checks cost 2-3 µs a view on the two-core machine, several times
// the driver's own work.
//
// Everything that reaches vkCreateImageView comes from this addon's record of the image (ImageRecord, written as
// createImage made it) or is checked against it: the allocation must be a live image allocation of a live allocator
// with the image vkmem created, of a core format (1-184: one plane, no sampler Y'CbCr conversion), with a usage a
// view can have (VUID-VkImageViewCreateInfo-image-04441); the view type must suit the image's layers as a whole (1D
// or 1D_ARRAY of a 1D image, 2D of a one-layer 2D image, 2D_ARRAY of a 2D image, 3D of a 3D image: no cube, which
// needs a cube-compatible image, and no 2D view of a 3D one); the aspect must be some of the format's; the mips must
// lie in the image. Anything else is a RangeError, with nothing made.
Napi::Value Addon::CreateImageView(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireScratch(env);
  const double handle = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  const double viewType = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  const double aspect = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
  // The mip range: absent (undefined) means all of them; anything else must be a number.
  const auto optional = [&info](size_t i, double absent) {
    if (info.Length() <= i || info[i].IsUndefined()) return absent;
    return info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : -1.0;
  };
  AllocationSlot* a = nullptr;
  const ImageRecord* img = RecordedImage(handle, &a);
  if (img == nullptr)
    throw RangeErrorFor(env, "createImageView: allocation must be a live image allocation of an image vkmem created");
  const AllocatorSlot& slot = allocators[a->allocator];
  if (!slot.live) throw RangeErrorFor(env, "createImageView: the allocation's allocator is destroyed");
  if (slot.createImageView == nullptr) throw Napi::Error::New(env, "vkmem native: the device has no vkCreateImageView");
  constexpr uint32_t kViewable = 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x1000 | 0x4000 |
                                 0x8000 | 0x100000 | 0x200000;
  if (img->format > VK_FORMAT_ASTC_12x12_SRGB_BLOCK || (img->usage & kViewable) == 0)
    throw RangeErrorFor(env, "createImageView: the image's format or usage allows no view made here");
  const VkFormat format = static_cast<VkFormat>(img->format);
  bool suits = false;
  if (IsUint(viewType, VK_IMAGE_VIEW_TYPE_CUBE_ARRAY)) {
    switch (static_cast<VkImageViewType>(static_cast<uint32_t>(viewType))) {
      case VK_IMAGE_VIEW_TYPE_1D: suits = img->type == VK_IMAGE_TYPE_1D && img->arrayLayers == 1; break;
      case VK_IMAGE_VIEW_TYPE_1D_ARRAY: suits = img->type == VK_IMAGE_TYPE_1D; break;
      case VK_IMAGE_VIEW_TYPE_2D: suits = img->type == VK_IMAGE_TYPE_2D && img->arrayLayers == 1; break;
      case VK_IMAGE_VIEW_TYPE_2D_ARRAY: suits = img->type == VK_IMAGE_TYPE_2D; break;
      case VK_IMAGE_VIEW_TYPE_3D: suits = img->type == VK_IMAGE_TYPE_3D; break;
      default: break;
    }
  }
  if (!suits) throw RangeErrorFor(env, "createImageView: viewType must suit the image as a whole");
  if (!IsUint(aspect, 4294967295.0) || aspect == 0 ||
      (static_cast<uint32_t>(aspect) & ~static_cast<uint32_t>(AspectOf(format))) != 0)
    throw RangeErrorFor(env, "createImageView: aspect must be some of the image format's aspects");
  const double mips = img->mipLevels;
  const double baseMip = optional(3, 0);
  const double levelCount = optional(4, mips - (baseMip >= 0 ? baseMip : 0));
  if (!IsUint(baseMip, mips - 1) || !IsUint(levelCount, mips) || levelCount < 1 || baseMip + levelCount > mips)
    throw RangeErrorFor(env, "createImageView: baseMip and levelCount must name mips of the image");
  VkImageViewCreateInfo vi = {VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
  vi.image = reinterpret_cast<VkImage>(a->resource);
  vi.viewType = static_cast<VkImageViewType>(static_cast<uint32_t>(viewType));
  vi.format = format;
  vi.subresourceRange = {static_cast<VkImageAspectFlags>(aspect), static_cast<uint32_t>(baseMip),
                         static_cast<uint32_t>(levelCount), 0, img->arrayLayers};
  VkImageView view = VK_NULL_HANDLE;
  const VkResult r = slot.createImageView(slot.device, &vi, nullptr, &view);
  if (r == VK_SUCCESS) u64[Scratch::kOutResource] = reinterpret_cast<uint64_t>(view);
  return Napi::Number::New(env, r);
}

// destroyImageView(allocator, view: ArrayBuffer) -> undefined: destroys the view whose handle is the first 8 bytes of
// `view` (an nvk handle object's memoryBuffer) on the allocator's device, as freeResources destroys a texture's view
// (deferred to the background freer inside a DeferFrees scope, at once otherwise). For a FrameManager texture's
// default view and a streamed texture's partial view, which createImageView made: that the bytes name such a view,
// made on this device and used by no pending work, is the caller's to know, as it is for freeResources' views (vkmem
// passes its own). Through nvk the same destroy read the handle object's properties by name, each a string made and
// internalized per call: 1.5 µs of a texture's hot createTexture + destroy() (29% of its samples) on the two-core
// machine. A null view is ignored; a dead allocator or anything but an ArrayBuffer of 8 bytes or more throws.
Napi::Value Addon::DestroyImageViewBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AllocatorSlot& slot = AllocatorFrom(env, info[0]);
  if (info.Length() < 2 || !info[1].IsArrayBuffer())
    throw TypeErrorFor(env, "destroyImageView(allocator, view: ArrayBuffer)");
  Napi::ArrayBuffer bytes = info[1].As<Napi::ArrayBuffer>();
  if (bytes.ByteLength() < 8) throw RangeErrorFor(env, "destroyImageView: view must hold a handle's 8 bytes");
  if (slot.destroyImageView == nullptr) throw Napi::Error::New(env, "vkmem native: the device has no vkDestroyImageView");
  uint64_t view = 0;
  std::memcpy(&view, bytes.Data(), 8);
  DestroyImageView(slot.device, view, slot.destroyImageView);
  return env.Undefined();
}

// createDedicatedResource(allocator, image: boolean) -> VkResult: as createBuffer / createImage (the same scratch
// inputs and outputs), through VMA 3.4's vmaCreateDedicatedBuffer / vmaCreateDedicatedImage, which imply
// VMA_ALLOCATION_CREATE_DEDICATED_MEMORY_BIT. Their pMemoryAllocateNext chain (external memory import) is not
// exposed: vkmem passes null, so the allocation is the one the dedicated flag makes, in a call of its own.
Napi::Value Addon::CreateDedicatedResource(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireScratch(env);
  uint32_t ai = 0;
  AllocatorSlot& slot = AllocatorFrom(env, info[0], &ai);
  const bool image = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  const char* op = image ? "vmaCreateDedicatedImage" : "vmaCreateDedicatedBuffer";
  VkImageCreateInfo ici;
  VkBufferCreateInfo bci;
  if (image) ReadImageCreateInfo(env, ici);
  else ReadBufferCreateInfo(env, bci);
  VmaAllocationCreateInfo aci;
  uint32_t poolIndex = 0;
  ReadAllocationCreateInfo(env, aci, op, ai, &poolIndex);
  // The preconditions of the dedicated flag these calls imply (ReadAllocationCreateInfo checks them when it is given).
  if ((aci.flags & VMA_ALLOCATION_CREATE_NEVER_ALLOCATE_BIT) != 0) {
    throw RangeErrorFor(env, std::string(op) + ": neverAllocate contradicts dedicated memory");
  }
  if (poolIndex != 0 && pools[poolIndex].explicitBlockSize) {
    throw RangeErrorFor(env, std::string(op) + ": a pool with a fixed block size cannot make dedicated allocations");
  }
  VmaAllocation allocation = VK_NULL_HANDLE;
  if (image) {
    VkImage handle = VK_NULL_HANDLE;
    VkResult r = vmaCreateDedicatedImage(slot.allocator, &ici, &aci, nullptr, &handle, &allocation, nullptr);
    return FinishAllocation(env, op, ai, r, allocation, Kind::Image, reinterpret_cast<uint64_t>(handle), true, poolIndex,
                            nullptr, false, &ici);
  }
  aci.minAlignment = ReadMinAlignment(env);
  VkBuffer handle = VK_NULL_HANDLE;
  VkResult r = vmaCreateDedicatedBuffer(slot.allocator, &bci, &aci, nullptr, &handle, &allocation, nullptr);
  return FinishAllocation(env, op, ai, r, allocation, Kind::Buffer, reinterpret_cast<uint64_t>(handle), true, poolIndex,
                          nullptr, false, nullptr, &bci);
}

// allocateMemory(allocator): in[0] size, in[1] alignment, in[2] memoryTypeBits (a VkMemoryRequirements).
Napi::Value Addon::AllocateMemory(Napi::Env env, napi_value arg) {
  RequireScratch(env);
  uint32_t ai = 0;
  AllocatorSlot& slot = AllocatorFrom(env, arg, &ai);
  const double* in = f64 + Scratch::kIn0;
  if (!(in[0] >= 1 && in[0] <= kMaxSafe) || std::floor(in[0]) != in[0]) throw RangeErrorFor(env, "memory size out of range");
  if (!IsUint(in[1], kMaxSafe) || !IsUint(in[2], kMaxU32)) throw RangeErrorFor(env, "alignment or memoryTypeBits out of range");
  VkMemoryRequirements req = {static_cast<VkDeviceSize>(in[0]), static_cast<VkDeviceSize>(in[1] < 1 ? 1 : in[1]),
                              static_cast<uint32_t>(in[2])};
  VmaAllocationCreateInfo aci;
  uint32_t poolIndex = 0;
  ReadAllocationCreateInfo(env, aci, "vmaAllocateMemory", ai, &poolIndex);
  aci.minAlignment = ReadMinAlignment(env);
  VmaAllocation allocation = VK_NULL_HANDLE;
  VkResult r = vmaAllocateMemory(slot.allocator, &req, &aci, &allocation, nullptr);
  return FinishAllocation(env, "vmaAllocateMemory", ai, r, allocation, Kind::Memory, 0, false, poolIndex, nullptr, true);
}

// allocateMemoryForBuffer(allocator, buffer: bigint) / allocateMemoryForImage(allocator, image: bigint).
// The caller created the resource and keeps owning it; bind it with bindBufferMemory / bindImageMemory.
Napi::Value Addon::AllocateMemoryFor(const Napi::CallbackInfo& info, bool image) {
  Napi::Env env = info.Env();
  RequireScratch(env);
  uint32_t ai = 0;
  AllocatorSlot& slot = AllocatorFrom(env, info[0], &ai);
  uint64_t resource = BigIntArg(info, 1, image ? "image" : "buffer");
  if (resource == 0) throw TypeErrorFor(env, image ? "image is a null handle" : "buffer is a null handle");
  VmaAllocationCreateInfo aci;
  uint32_t poolIndex = 0;
  ReadAllocationCreateInfo(env, aci, image ? "vmaAllocateMemoryForImage" : "vmaAllocateMemoryForBuffer", ai, &poolIndex);
  aci.minAlignment = ReadMinAlignment(env);
  VmaAllocation allocation = VK_NULL_HANDLE;
  VkResult r = image ? vmaAllocateMemoryForImage(slot.allocator, reinterpret_cast<VkImage>(resource), &aci, &allocation, nullptr)
                     : vmaAllocateMemoryForBuffer(slot.allocator, reinterpret_cast<VkBuffer>(resource), &aci, &allocation, nullptr);
  return FinishAllocation(env, image ? "vmaAllocateMemoryForImage" : "vmaAllocateMemoryForBuffer", ai, r, allocation,
                          Kind::Memory, 0, false, poolIndex);
}

Napi::Value Addon::AllocateMemoryForBuffer(const Napi::CallbackInfo& info) { return AllocateMemoryFor(info, false); }
Napi::Value Addon::AllocateMemoryForImage(const Napi::CallbackInfo& info) { return AllocateMemoryFor(info, true); }

// bindBufferMemory(allocation, buffer: bigint, localOffset) -> VkResult; bindImageMemory likewise.
Napi::Value Addon::BindMemory(const Napi::CallbackInfo& info, bool image) {
  Napi::Env env = info.Env();
  AllocationSlot& a = AllocationFrom(env, info[0]);
  uint64_t resource = BigIntArg(info, 1, image ? "image" : "buffer");
  double offset = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
  if (!IsUint(offset, kMaxSafe)) throw RangeErrorFor(env, "bind offset out of range");
  if (resource == 0) throw TypeErrorFor(env, image ? "image is a null handle" : "buffer is a null handle");
  if (a.kind != Kind::Memory || a.resource != 0) throw Napi::Error::New(env, "vkmem native: allocation is already bound");
  VmaAllocator allocator = allocators[a.allocator].allocator;
  VkDeviceSize vkOffset = static_cast<VkDeviceSize>(offset);
  VkResult r = image ? vmaBindImageMemory2(allocator, a.allocation, vkOffset, reinterpret_cast<VkImage>(resource), nullptr)
                     : vmaBindBufferMemory2(allocator, a.allocation, vkOffset, reinterpret_cast<VkBuffer>(resource), nullptr);
  if (r == VK_SUCCESS) a.resource = resource;  // what Vulkan did, recorded before any error
  ThrowIfVmaAsserted(env, image ? "vmaBindImageMemory2" : "vmaBindBufferMemory2");
  return Napi::Number::New(env, r);
}

Napi::Value Addon::BindBufferMemory(const Napi::CallbackInfo& info) { return BindMemory(info, false); }
Napi::Value Addon::BindImageMemory(const Napi::CallbackInfo& info) { return BindMemory(info, true); }

// freeAllocation(allocation): destroys the buffer or image vkmem created with it, unmaps what is still
// mapped, and frees the memory. JS must have detached its ArrayBuffers over the mapping first.
Napi::Value Addon::FreeAllocation(Napi::Env env, napi_value arg) {
  uint32_t index = 0;
  const AllocationSlot& slot = AllocationFrom(env, arg, &index);
  if (slot.moving || slot.defragTemp) {
    throw Napi::Error::New(env, slot.moving ? "vkmem native: the allocation is being moved by an open defragmentation pass"
                                            : "vkmem native: a defragmentation pass's destination is freed by that pass");
  }
  // Its Free record, when the allocator records and TS armed it (trace_sink.h).
  if (TraceSink* trace = allocators[slot.allocator].trace.get()) TraceFree(*trace, EncodeHandle(slot.generation, index));
#if VMA_DEBUG_MARGIN > 0 && VMA_DEBUG_DETECT_CORRUPTION
  // The debug build: VMA checks the margin as it frees and only asserts; name the allocation instead,
  // free it all the same (the memory is not lost), and throw a CorruptionError.
  if (!MarginIntact(index)) {
    Napi::Array found = Napi::Array::New(env, 1);
    found.Set(0u, DescribeLeak(env, index));
    const VmaMessageMark mark = MarkVmaMessages();
    FreeAllocationNow(index);
    TakeVmaMessagesSince(mark);  // VMA's "MEMORY CORRUPTION DETECTED AFTER FREED ALLOCATION!"
    ThrowCorruption(env, "vmaFreeMemory", "the margin after the allocation was overwritten (it was freed all the same)", found);
  }
#endif
  FreeAllocationNow(index);
  ThrowIfVmaAsserted(env, "vmaFreeMemory");
  return env.Undefined();
}

void Addon::FreeAllocationNow(uint32_t index) {
  AllocationSlot& a = allocations[index];
  VmaAllocator allocator = allocators[a.allocator].allocator;
  // Its aliasing resources first: none may outlive the memory it is bound to (TS refuses an explicit free while
  // they live; this is the path of pool and allocator destruction).
  if (a.aliasCount > 0) DestroyAliasesOf(index);
  while (a.mapCount > 0) {
    vmaUnmapMemory(allocator, a.allocation);
    a.mapCount--;
  }
  // vmaDestroyBuffer / vmaDestroyImage in two steps: the Vulkan object through DestroyBufferOrImage, which queues it
  // for the background freer inside a DeferFrees scope (a FrameManager's retired resources, a defragmentation pass's
  // end) and destroys it here elsewhere; then VMA's free, at once, so that the next allocation may take the range
  // (binding there while the old object waits in the queue aliases memory nothing reads through the old one). A block
  // VMA empties is freed after the objects queued before it (deferred_free.cpp runs its queue in order).
  if (a.ownsResource && (a.kind == Kind::Buffer || a.kind == Kind::Image)) {
    const AllocatorSlot& slot = allocators[a.allocator];
    DestroyBufferOrImage(slot.device, a.resource, a.kind == Kind::Image, slot.destroyBuffer, slot.destroyImage);
  }
  vmaFreeMemory(allocator, a.allocation);
  ReleaseAllocationSlot(index);
}

Napi::Object Addon::DescribeLeak(Napi::Env env, uint32_t index) {
  AllocationSlot& a = allocations[index];
  VmaAllocator allocator = allocators[a.allocator].allocator;
  VmaAllocationInfo ai;
  vmaGetAllocationInfo(allocator, a.allocation, &ai);
  Napi::Object leak = Napi::Object::New(env);
  leak.Set("handle", EncodeHandle(a.generation, index));
  leak.Set("name", ai.pName ? Napi::Value(Napi::String::New(env, ai.pName)) : env.Null());
  leak.Set("size", static_cast<double>(ai.size));
  leak.Set("offset", static_cast<double>(ai.offset));
  leak.Set("memoryType", static_cast<double>(ai.memoryType));
  leak.Set("kind", a.kind == Kind::Buffer ? "buffer" : a.kind == Kind::Image ? "image" : "memory");
  const char* poolName = nullptr;
  if (a.pool != 0) vmaGetPoolName(allocator, pools[a.pool].pool, &poolName);
  leak.Set("pool", a.pool == 0 ? env.Null() : Napi::Value(Napi::String::New(env, poolName ? poolName : "")));
  return leak;
}

Napi::Value Addon::GetAllocationInfo(Napi::Env env, napi_value arg) {
  RequireScratch(env);
  uint32_t index = 0;
  AllocationSlot& a = AllocationFrom(env, arg, &index);
  u64[Scratch::kOutResource] = a.resource;
  VmaAllocator allocator = allocators[a.allocator].allocator;
  FillAllocationOutputs(allocator, a.allocation, EncodeHandle(a.generation, index));
  return env.Undefined();
}

Napi::Value Addon::SetAllocationName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AllocationSlot& a = AllocationFrom(env, info[0]);
  if (info.Length() < 2 || (!info[1].IsString() && !info[1].IsNull())) {
    throw TypeErrorFor(env, "allocation name must be a string or null");
  }
  if (info[1].IsNull()) {
    vmaSetAllocationName(allocators[a.allocator].allocator, a.allocation, nullptr);
  } else {
    std::string name = info[1].As<Napi::String>().Utf8Value();
    if (name.find('\0') != std::string::npos) throw RangeErrorFor(env, "allocation name must not contain NUL");
    vmaSetAllocationName(allocators[a.allocator].allocator, a.allocation, name.c_str());
  }
  return env.Undefined();
}

Napi::Value Addon::GetAllocationName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AllocationSlot& a = AllocationFrom(env, info[0]);
  VmaAllocationInfo ai;
  vmaGetAllocationInfo(allocators[a.allocator].allocator, a.allocation, &ai);
  return ai.pName ? Napi::Value(Napi::String::New(env, ai.pName)) : env.Null();
}

// setAllocationUserData(allocation, value: number): VMA's pUserData, shown as CustomData in the dump.
Napi::Value Addon::SetAllocationUserData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AllocationSlot& a = AllocationFrom(env, info[0]);
  double v = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  if (!IsUint(v, kMaxSafe)) throw RangeErrorFor(env, "user data must be an integer in [0, 2^53)");
  vmaSetAllocationUserData(allocators[a.allocator].allocator, a.allocation,
                           reinterpret_cast<void*>(static_cast<uintptr_t>(v)));
  return env.Undefined();
}

Napi::Value Addon::GetMemoryTypeProperties(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AllocationSlot& a = AllocationFrom(env, info[0]);
  VkMemoryPropertyFlags flags = 0;
  vmaGetAllocationMemoryProperties(allocators[a.allocator].allocator, a.allocation, &flags);
  return Napi::Number::New(env, flags);
}

// map(allocation, wantView: boolean) -> ArrayBuffer over exactly the allocation's bytes, or undefined.
// VMA counts maps per allocation; JS keeps one ArrayBuffer per mapping and detaches it before the
// last unmap or the free, so no JS view ever outlives the mapping.
Napi::Value Addon::Map(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AllocationSlot& a = AllocationFrom(env, info[0]);
  bool wantView = info.Length() > 1 && info[1].ToBoolean().Value();
  VmaAllocator allocator = allocators[a.allocator].allocator;
  // Memory the CPU cannot map: VMA would assert (recorded here, not aborting) and call vkMapMemory on it all the
  // same, which Vulkan forbids (VUID-vkMapMemory-memory-00682: the validation layer reported it on the H200). TS
  // refuses such a map first; the addon refuses it too, with the VkResult a driver gives.
  VkMemoryPropertyFlags flags = 0;
  vmaGetAllocationMemoryProperties(allocator, a.allocation, &flags);
  if ((flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) == 0) {
    ThrowVk(env, VK_ERROR_MEMORY_MAP_FAILED, "vmaMapMemory", "the allocation's memory type is not HOST_VISIBLE");
  }
  void* p = nullptr;
  VkResult r = vmaMapMemory(allocator, a.allocation, &p);
  if (VmaAssertedThisCall()) {
    // A map VMA asserted on (TS checks host access and the map count first): undone, so the map counts of
    // VMA, this slot and JS stay equal.
    if (r == VK_SUCCESS) vmaUnmapMemory(allocator, a.allocation);
    ThrowIfVmaAsserted(env, "vmaMapMemory");
  }
  if (r != VK_SUCCESS) ThrowVk(env, r, "vmaMapMemory");
  a.mapCount++;
  if (!wantView) return env.Undefined();
  VmaAllocationInfo ai;
  vmaGetAllocationInfo(allocator, a.allocation, &ai);
  return Napi::ArrayBuffer::New(env, p, static_cast<size_t>(ai.size));
}

// mappedView semantics folded in: unmap(allocation) -> number of maps left.
Napi::Value Addon::Unmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AllocationSlot& a = AllocationFrom(env, info[0]);
  if (a.mapCount == 0) throw Napi::Error::New(env, "vkmem native: unmap without a matching map");
  vmaUnmapMemory(allocators[a.allocator].allocator, a.allocation);
  a.mapCount--;
  ThrowIfVmaAsserted(env, "vmaUnmapMemory");
  return Napi::Number::New(env, a.mapCount);
}

static Napi::Value FlushOrInvalidate(Addon& addon, const Napi::CallbackInfo& info, bool flush) {
  Napi::Env env = info.Env();
  AllocationSlot& a = addon.AllocationFrom(env, info[0]);
  double offset = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  double size = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
  if (!IsUint(offset, kMaxSafe) || !(IsUint(size, kMaxSafe) || std::isinf(size))) {
    throw RangeErrorFor(env, "flush/invalidate range out of bounds");
  }
  VmaAllocator allocator = addon.allocators[a.allocator].allocator;
  VkDeviceSize vkSize = std::isinf(size) ? VK_WHOLE_SIZE : static_cast<VkDeviceSize>(size);
  VkResult r = flush ? vmaFlushAllocation(allocator, a.allocation, static_cast<VkDeviceSize>(offset), vkSize)
                     : vmaInvalidateAllocation(allocator, a.allocation, static_cast<VkDeviceSize>(offset), vkSize);
  addon.ThrowIfVmaAsserted(env, flush ? "vmaFlushAllocation" : "vmaInvalidateAllocation");
  return Napi::Number::New(env, r);
}

Napi::Value Addon::Flush(const Napi::CallbackInfo& info) { return FlushOrInvalidate(*this, info, true); }
Napi::Value Addon::Invalidate(const Napi::CallbackInfo& info) { return FlushOrInvalidate(*this, info, false); }

}  // namespace vkmem
