/**
 * nvk's two-call enumeration: the first call fills a `{ $ }` count, the second the array made for it. The count may
 * shrink between the calls (an item went away); the result is cut to what the second call reported.
 * @internal
 * @module
 */
import { check } from "../errors.js";
import { nvk, type VkInout } from "./nvk.js";

/**
 * Runs `call` twice, first for the count and then for the items `make` creates, and returns them.
 * @throws VkError when either call returns an error.
 * @internal
 */
export function enumerate<T>(
  make: () => T,
  call: (count: VkInout, out: T[] | null) => number | void,
  operation: string,
): T[] {
  const count: VkInout = { $: 0 };
  const first = call(count, null);
  if (typeof first === "number") check(first, operation);
  const items = Array.from({ length: count.$ }, make);
  if (items.length === 0) return items;
  const second = call(count, items);
  if (typeof second === "number") check(second, operation);
  return items.slice(0, count.$);
}

/** The instance extensions the loader (or `layer`) offers. @internal */
export function instanceExtensionNames(layer: string | null): Set<string> {
  const props = enumerate(
    () => new nvk.VkExtensionProperties(),
    (c, out) => nvk.vkEnumerateInstanceExtensionProperties(layer, c, out),
    "vkEnumerateInstanceExtensionProperties",
  );
  return new Set(props.map((p) => p.extensionName as string));
}

/** The instance layers installed. @internal */
export function instanceLayerNames(): Set<string> {
  const props = enumerate(
    () => new nvk.VkLayerProperties(),
    (c, out) => nvk.vkEnumerateInstanceLayerProperties(c, out),
    "vkEnumerateInstanceLayerProperties",
  );
  return new Set(props.map((p) => p.layerName as string));
}
