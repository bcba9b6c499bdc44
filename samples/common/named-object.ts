/**
 * Creating a Vulkan object the way every sample does: a fresh nvk handle, the vkCreate* call checked, the object
 * named for the validation layer and debuggers (VK_EXT_debug_utils; a no-op without validation).
 * @module
 */
import { check, type Context, type NvkHandle } from "../../engine/index.js";

/**
 * Makes `new HandleClass()`, passes it to `create` (which calls the vkCreate or vkAllocate function with it as the output and
 * returns the VkResult), checks the result and names the object `name`. The caller owns the object.
 * @throws VkError naming `operation` and `name` when the call fails.
 */
export function createNamed(
  context: Context,
  HandleClass: new () => NvkHandle,
  objectType: number,
  name: string,
  operation: string,
  create: (out: NvkHandle) => number,
): NvkHandle {
  const handle = new HandleClass();
  check(create(handle), operation, name);
  context.setObjectName(objectType, handle, name);
  return handle;
}
