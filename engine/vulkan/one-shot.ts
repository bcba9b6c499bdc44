/**
 * The one-shot command helper: record a command buffer, submit it and wait, for tests, load-time uploads and other
 * rare work. It stalls the queue; frames go through a FrameManager instead.
 *
 * The command buffer comes from the Context's command pool (RESET_COMMAND_BUFFER) and the fence is made for the one
 * submission: both are freed before the helper returns, also when recording throws, so nothing is left behind.
 * @internal
 * @module
 */
import { check } from "../errors.js";
import type { NvkHandle } from "./handles.js";
import { nvk } from "./nvk.js";
import { COMMAND_BUFFER_ONE_TIME_SUBMIT, NO_TIMEOUT } from "./vk.js";

/**
 * Records a command buffer of `commandPool` with `record`, submits it to `queue`, runs `whileRunning` (CPU work that
 * overlaps the GPU's) and waits for it to finish (also when `whileRunning` throws).
 * @throws VkError when a Vulkan call fails; whatever `record` or `whileRunning` throws is rethrown.
 * @internal
 */
export function submitOneShot(
  device: NvkHandle,
  commandPool: NvkHandle,
  queue: NvkHandle,
  record: (commandBuffer: NvkHandle) => void,
  whileRunning?: () => void,
): void {
  const cmd = new nvk.VkCommandBuffer();
  check(
    nvk.vkAllocateCommandBuffers(
      device,
      new nvk.VkCommandBufferAllocateInfo({
        commandPool,
        level: nvk.VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        commandBufferCount: 1,
      }),
      [cmd],
    ),
    "vkAllocateCommandBuffers",
  );
  let fence: NvkHandle | null = null;
  try {
    check(
      nvk.vkBeginCommandBuffer(cmd, new nvk.VkCommandBufferBeginInfo({ flags: COMMAND_BUFFER_ONE_TIME_SUBMIT })),
      "vkBeginCommandBuffer",
    );
    record(cmd);
    check(nvk.vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
    fence = new nvk.VkFence();
    check(nvk.vkCreateFence(device, new nvk.VkFenceCreateInfo(), null, fence), "vkCreateFence");
    const submit = new nvk.VkSubmitInfo({ commandBufferCount: 1, pCommandBuffers: [cmd] });
    check(nvk.vkQueueSubmit(queue, 1, [submit], fence), "vkQueueSubmit");
    try {
      whileRunning?.();
    } finally {
      check(nvk.vkWaitForFences(device, 1, [fence], true, NO_TIMEOUT), "vkWaitForFences");
    }
  } finally {
    if (fence !== null) nvk.vkDestroyFence(device, fence, null);
    nvk.vkFreeCommandBuffers(device, commandPool, 1, [cmd]);
  }
}
