// The Vulkan calls a FrameManager makes every frame (engine/resources/frame-slots.ts), made by this addon:
//
//   frameFenceStatus(allocator, fence) -> vkGetFenceStatus's VkResult
//   frameBeginCommands(allocator, pool, cmd) -> 0, or the failed call's VkResult (vkBeginCommandBuffer's less 2^32)
//       (pool 0n: cmd is begun without a reset of its pool)
//   frameEndCommands(allocator, cmd) -> vkEndCommandBuffer's VkResult
//   frameSubmit(allocator, queue, fence, first, second, waits, stages, signals)
//       -> 0, or the failed call's VkResult (vkQueueSubmit's less 2^32) (fence 0n: none, and nothing reset)
//   frameWaitFences(allocator, fences, reset) -> 0, or the failed call's VkResult (vkResetFences' less 2^32)
//       (waits for every fence of a BigUint64Array, then resets them when reset is true)
//   frameResetPool(allocator, pool) -> vkResetCommandPool's VkResult
//
// Through nvk each of these built its structs from JS objects and went through nvk's generated wrapper: with a busy
// frame around them (a thousand frees and creations) the six calls of a frame took 60-150 µs on the two-core machine,
// against 16 with nothing around them, and about 80 µs on an H100 host (bench frame's "raw nvk frame"). They are also
// Vulkan calls the manager makes, which issue 14's overhead figure leaves out when they are timed natively: here
// they run inside the native call timer (addon.h), as VMA's calls do, instead of being estimated by the median of a
// separate loop.
//
// Every handle is a raw 64-bit value (BigInt) of an object the FrameManager created on the allocator's device (its
// slots' command pools, command buffers and fences, its upload batches' command buffers, semaphores and fences
// (engine/resources/transfer-commands.ts), its context's queues, and the caller's semaphores, which endFrame checked are
// created nvk VkSemaphore objects): they cannot be checked here, as cmdCopyBuffers cannot check its command buffer.
// These functions are internal (engine/native.ts is not exported by the package). The allocator handle is checked, and
// gives the device and the functions, looked up when the allocator was created. The shapes of the arguments are
// checked (TypeError), with nothing called then.
//
// A failed call is reported by its VkResult, the later call's less 2^32 where two are made, so that the caller's
// VkError names the call that failed (engine/resources/frame-slots.ts: checkPair).
#include "addon.h"
#include "copy_commands.h"

namespace vkmem {

namespace {

constexpr double kSecond = 4294967296.0;  // 2^32: the later of two calls' results are reported less this

// The values of a BigUint64Array argument, or none for null / undefined.
bool HandleList(const Napi::CallbackInfo& info, size_t i, const uint64_t** data, size_t* count) {
  *data = nullptr;
  *count = 0;
  if (info.Length() <= i || info[i].IsNull() || info[i].IsUndefined()) return true;
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array) return false;
  Napi::TypedArrayOf<uint64_t> list = info[i].As<Napi::TypedArrayOf<uint64_t>>();
  *data = list.Data();
  *count = list.ElementLength();
  return true;
}

Napi::Value FrameFenceStatus(const Napi::CallbackInfo& info) {
  Addon* addon = static_cast<Addon*>(info.Data());
  const AllocatorSlot& owner = addon->AllocatorFrom(info.Env(), info.Length() > 0 ? info[0] : info.Env().Undefined());
  const uint64_t fence = BigIntArg(info, 1, "fence");
  if (fence == 0) throw TypeErrorFor(info.Env(), "frameFenceStatus: null fence");
  const VkResult result = owner.getFenceStatus(owner.device, reinterpret_cast<VkFence>(fence));
  return Napi::Number::New(info.Env(), static_cast<double>(result));
}

Napi::Value FrameBeginCommands(const Napi::CallbackInfo& info) {
  Addon* addon = static_cast<Addon*>(info.Data());
  const AllocatorSlot& owner = addon->AllocatorFrom(info.Env(), info.Length() > 0 ? info[0] : info.Env().Undefined());
  const uint64_t pool = BigIntArg(info, 1, "pool");
  const uint64_t cmd = BigIntArg(info, 2, "cmd");
  if (cmd == 0) throw TypeErrorFor(info.Env(), "frameBeginCommands: null command buffer");
  VkResult result = pool != 0 ? owner.resetCommandPool(owner.device, reinterpret_cast<VkCommandPool>(pool), 0) : VK_SUCCESS;
  if (result < 0) return Napi::Number::New(info.Env(), static_cast<double>(result));
  VkCommandBufferBeginInfo begin = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  result = owner.beginCommandBuffer(reinterpret_cast<VkCommandBuffer>(cmd), &begin);
  return Napi::Number::New(info.Env(), result < 0 ? static_cast<double>(result) - kSecond : 0.0);
}

Napi::Value FrameEndCommands(const Napi::CallbackInfo& info) {
  Addon* addon = static_cast<Addon*>(info.Data());
  const AllocatorSlot& owner = addon->AllocatorFrom(info.Env(), info.Length() > 0 ? info[0] : info.Env().Undefined());
  const uint64_t cmd = BigIntArg(info, 1, "cmd");
  if (cmd == 0) throw TypeErrorFor(info.Env(), "frameEndCommands: null command buffer");
  const VkResult result = owner.endCommandBuffer(reinterpret_cast<VkCommandBuffer>(cmd));
  return Napi::Number::New(info.Env(), static_cast<double>(result));
}

// Resets `fence` (0n: none) and submits one batch signaling it: the command buffers `first` (0n: none) and `second`,
// waiting on `waits` (a BigUint64Array of semaphores, or null) at `stages` (a Uint32Array, one mask per wait) and
// signaling `signals` (a BigUint64Array, or null).
Napi::Value FrameSubmit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = static_cast<Addon*>(info.Data());
  const AllocatorSlot& owner = addon->AllocatorFrom(env, info.Length() > 0 ? info[0] : env.Undefined());
  const uint64_t queue = BigIntArg(info, 1, "queue");
  const uint64_t fence = BigIntArg(info, 2, "fence");
  const uint64_t first = BigIntArg(info, 3, "first");
  const uint64_t second = BigIntArg(info, 4, "second");
  const uint64_t *waits = nullptr, *signals = nullptr;
  size_t waitCount = 0, signalCount = 0;
  bool shapes = HandleList(info, 5, &waits, &waitCount) && HandleList(info, 7, &signals, &signalCount);
  const uint32_t* stages = nullptr;
  if (shapes && waitCount > 0) {
    shapes = info.Length() > 6 && info[6].IsTypedArray() &&
             info[6].As<Napi::TypedArray>().TypedArrayType() == napi_uint32_array &&
             info[6].As<Napi::Uint32Array>().ElementLength() >= waitCount;
    if (shapes) stages = info[6].As<Napi::Uint32Array>().Data();
  }
  if (!shapes)
    throw TypeErrorFor(env,
                       "frameSubmit(allocator, queue, fence, first, second, waits: BigUint64Array | null, stages: "
                       "Uint32Array (one per wait), signals: BigUint64Array | null)");
  if (queue == 0 || second == 0) throw TypeErrorFor(env, "frameSubmit: null queue or command buffer");
  VkFence vkFence = reinterpret_cast<VkFence>(fence);
  VkResult result = fence != 0 ? owner.resetFences(owner.device, 1, &vkFence) : VK_SUCCESS;
  if (result < 0) return Napi::Number::New(env, static_cast<double>(result));
  VkCommandBuffer cmds[2] = {reinterpret_cast<VkCommandBuffer>(first), reinterpret_cast<VkCommandBuffer>(second)};
  VkSubmitInfo submit = {VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit.commandBufferCount = first != 0 ? 2 : 1;
  submit.pCommandBuffers = first != 0 ? cmds : cmds + 1;
  static_assert(sizeof(VkSemaphore) == sizeof(uint64_t), "semaphores are 64-bit handles");
  submit.waitSemaphoreCount = static_cast<uint32_t>(waitCount);
  submit.pWaitSemaphores = reinterpret_cast<const VkSemaphore*>(waits);
  submit.pWaitDstStageMask = reinterpret_cast<const VkPipelineStageFlags*>(stages);
  submit.signalSemaphoreCount = static_cast<uint32_t>(signalCount);
  submit.pSignalSemaphores = reinterpret_cast<const VkSemaphore*>(signals);
  result = owner.queueSubmit(reinterpret_cast<VkQueue>(queue), 1, &submit, vkFence);
  return Napi::Number::New(env, result < 0 ? static_cast<double>(result) - kSecond : 0.0);
}

// Waits for every fence of `fences` (a BigUint64Array of at least one, none 0n), and resets them when `reset` is true:
// the back-pressure wait of a frame slot, and a slot's upload-piece fences once its frame is done
// (engine/resources/frame-slots.ts, transfer-commands.ts).
Napi::Value FrameWaitFences(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = static_cast<Addon*>(info.Data());
  const AllocatorSlot& owner = addon->AllocatorFrom(env, info.Length() > 0 ? info[0] : env.Undefined());
  const uint64_t* fences = nullptr;
  size_t count = 0;
  if (!HandleList(info, 1, &fences, &count) || count == 0 || count > UINT32_MAX || info.Length() < 3 ||
      !info[2].IsBoolean())
    throw TypeErrorFor(env, "frameWaitFences(allocator, fences: BigUint64Array of at least one, reset: boolean)");
  for (size_t i = 0; i < count; i++)
    if (fences[i] == 0) throw TypeErrorFor(env, "frameWaitFences: null fence");
  static_assert(sizeof(VkFence) == sizeof(uint64_t), "fences are 64-bit handles");
  const VkFence* list = reinterpret_cast<const VkFence*>(fences);
  const uint32_t n = static_cast<uint32_t>(count);
  VkResult result = owner.waitForFences(owner.device, n, list, VK_TRUE, UINT64_MAX);
  if (result != VK_SUCCESS || !info[2].As<Napi::Boolean>().Value())
    return Napi::Number::New(env, static_cast<double>(result));
  result = owner.resetFences(owner.device, n, list);
  return Napi::Number::New(env, result < 0 ? static_cast<double>(result) - kSecond : 0.0);
}

// Resets `pool` (flags 0): a slot's transfer command pool, after a frame that began one of its command buffers.
Napi::Value FrameResetPool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = static_cast<Addon*>(info.Data());
  const AllocatorSlot& owner = addon->AllocatorFrom(env, info.Length() > 0 ? info[0] : env.Undefined());
  const uint64_t pool = BigIntArg(info, 1, "pool");
  if (pool == 0) throw TypeErrorFor(env, "frameResetPool: null command pool");
  const VkResult result = owner.resetCommandPool(owner.device, reinterpret_cast<VkCommandPool>(pool), 0);
  return Napi::Number::New(env, static_cast<double>(result));
}

}  // namespace

void RegisterFrameCommands(Napi::Env env, Napi::Object exports, Addon* addon) {
  exports.Set("frameFenceStatus",
              Napi::Function::New(env, GuardedFunction<FrameFenceStatus>, "frameFenceStatus", addon));
  exports.Set("frameBeginCommands",
              Napi::Function::New(env, GuardedFunction<FrameBeginCommands>, "frameBeginCommands", addon));
  exports.Set("frameEndCommands",
              Napi::Function::New(env, GuardedFunction<FrameEndCommands>, "frameEndCommands", addon));
  exports.Set("frameSubmit", Napi::Function::New(env, GuardedFunction<FrameSubmit>, "frameSubmit", addon));
  exports.Set("frameWaitFences",
              Napi::Function::New(env, GuardedFunction<FrameWaitFences>, "frameWaitFences", addon));
  exports.Set("frameResetPool", Napi::Function::New(env, GuardedFunction<FrameResetPool>, "frameResetPool", addon));
}

}  // namespace vkmem
