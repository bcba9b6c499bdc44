/**
 * Which Context nvk's extension-function pointers belong to.
 *
 * nvk dispatches extension functions (debug utils, swapchain, ...) through one global set of pointers, loaded from
 * the most recently created instance and device. A Context switches them to itself (`makeCurrent()`) before it calls
 * an extension function; this module tracks which context is current, so that the switch (~0.1 ms) happens only
 * when needed. Creating an instance or a device reloads the pointers, so whoever creates one forgets the current
 * context first ({@link forgetCurrent}) and sets it once the new context exists.
 *
 * The reference is weak: being the current context must not keep a Context dropped without destroy() (and every
 * Allocator made over its device, engine/lifetime.ts) from being collected and reported.
 * @internal
 * @module
 */

let currentContext: WeakRef<object> | null = null;

/** Whether nvk's pointers belong to `context`. @internal */
export function isCurrent(context: object): boolean {
  return currentContext !== null && currentContext.deref() === context;
}

/** nvk's pointers now belong to `context` (it called vkUseInstance / vkUseDevice, or was just created). @internal */
export function setCurrent(context: object): void {
  currentContext = new WeakRef(context);
}

/** nvk's pointers belong to no known context (an instance or device is being created, or the current one is gone). @internal */
export function forgetCurrent(): void {
  currentContext = null;
}
