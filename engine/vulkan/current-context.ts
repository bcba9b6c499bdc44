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
 *
 * nvk's pointers are one set per process, while this module can be evaluated more than once in it (a test runner
 * that resets its module registry, an application that carries the package twice): the record lives on
 * `globalThis`, under a registered symbol, so that every copy in the realm sees the others' switches. With one record
 * per copy, a copy that created a context left the other believing its own context still current, which then called
 * vkDestroyDebugUtilsMessengerEXT through a pointer loaded for an instance without debug utils: a null call.
 * @internal
 * @module
 */

interface CurrentCell {
  context: WeakRef<object> | null;
}

const KEY = Symbol.for("vkmem.nvkCurrentContext");
const shared = globalThis as { [KEY]?: CurrentCell };
const cell: CurrentCell = (shared[KEY] ??= { context: null });

/** Whether nvk's pointers belong to `context`. @internal */
export function isCurrent(context: object): boolean {
  return cell.context !== null && cell.context.deref() === context;
}

/** nvk's pointers now belong to `context` (it called vkUseInstance / vkUseDevice, or was just created). @internal */
export function setCurrent(context: object): void {
  cell.context = new WeakRef(context);
}

/** nvk's pointers belong to no known context (an instance or device is being created, or the current one is gone). @internal */
export function forgetCurrent(): void {
  cell.context = null;
}
