/**
 * The one place vkmem loads nvk (the Vulkan API for Node, 0.8.0, headers of Vulkan 1.1.126).
 *
 * nvk is a CommonJS module that writes two lines ("(nvk) Using Vulkan v1.1.126", "(nvk) Validation checks are
 * enabled") to `process.stdout` while it loads. It is required here through `createRequire`, with
 * `process.stdout.write` swapped for the duration of that one synchronous `require` so that exactly those lines are
 * dropped and any other output passes through. Node caches the module, so every later import gets the same object.
 *
 * What every user of {@link nvk} must know about it (measured with nvk 0.8.0 on lavapipe):
 * - It is untyped here: nvk's generated typings declare their classes as non-exported `declare var`s.
 * - Structs and handles are JS objects over an `ArrayBuffer` (`memoryBuffer`). A handle's 64-bit value is the first
 *   8 bytes of its `memoryBuffer`, which is what nvk's native side reads; see `handles.ts`.
 * - Counts and other out-parameters are `{ $: number }` objects ({@link VkInout}); 64-bit ones hold a BigInt
 *   ({@link VkInoutAddress}). VkDeviceSize fields read back as BigInt and accept Number or BigInt.
 * - Its JS layer checks struct members against the 1.1.126 enums: sTypes and enum values newer than 1.1.126
 *   (Vulkan 1.2/1.3 feature structs, newer object types) are rejected by the setters and have to be written into
 *   `memoryView` directly.
 * - Core functions go straight to the loader; extension functions go through pointers that nvk loads from the most
 *   recently created instance and device (it calls its own `vkUseInstance`/`vkUseDevice` on creation). With two
 *   instances alive, calling an extension function for the older one can reach a null pointer and crash the process:
 *   `Context.makeCurrent()` switches them back.
 * - It patches globals at load: `ArrayBuffer.prototype.getAddress`, `ArrayBuffer.fromAddress`,
 *   `BigInt.prototype.dereference`. {@link addressOf} and {@link arrayBufferAt} wrap the first two with types.
 * @module
 */
import { createRequire } from "node:module";
import type { VulkanUnavailableError } from "../errors.js";
import { loaderMissingError } from "./availability.js";

/** nvk's `{ $: number }` out-parameter for counts and 32-bit values (e.g. `vkEnumeratePhysicalDevices`). */
export interface VkInout {
  $: number;
}

/** nvk's `{ $: bigint }` out-parameter for 64-bit values and pointers (e.g. `vkMapMemory`'s `ppData`). */
export interface VkInoutAddress {
  $: bigint;
}

function loadQuietly(): any {
  const require = createRequire(import.meta.url);
  const stdout = process.stdout;
  const write = stdout.write;
  stdout.write = function quietWrite(this: unknown, chunk: unknown, ...rest: unknown[]): boolean {
    if (typeof chunk === "string" && chunk.startsWith("(nvk) ")) return true;
    return (write as (...args: unknown[]) => boolean).call(stdout, chunk, ...rest);
  } as typeof stdout.write;
  try {
    return require("nvk");
  } finally {
    stdout.write = write;
  }
}

let loadFailure: VulkanUnavailableError | null = null;

/**
 * nvk, or, when it cannot load because the Vulkan loader library is missing, an object whose every member throws
 * that {@link VulkanUnavailableError}: importing vkmem still works, and `createContext` reports what to install.
 */
function loadNvk(): any {
  try {
    return loadQuietly();
  } catch (e) {
    const readable = loaderMissingError(e, "nvk");
    if (readable === null) throw e;
    loadFailure = readable;
    return new Proxy(
      {},
      {
        get(_target, key) {
          if (key === "then" || typeof key === "symbol") return undefined;
          throw readable;
        },
      },
    );
  }
}

/**
 * The nvk module: every `vk*` function, `Vk*` struct and handle class and `VK_*` constant of Vulkan 1.1.126.
 *
 * Loaded once at import time and never unloaded. Typed `any`: see the module comment for its conventions.
 * Where the Vulkan loader is not installed, every member throws the {@link VulkanUnavailableError} that
 * `nvkUnavailable()` (internal) returns; `createContext` throws it first.
 */
export const nvk: any = loadNvk();

/** Why nvk could not be loaded (the Vulkan loader library is missing), or `null` when it is loaded. */
export function nvkUnavailable(): VulkanUnavailableError | null {
  return loadFailure;
}

/**
 * The native address of an ArrayBuffer's memory, e.g. to write into a struct's pointer member by hand.
 *
 * The buffer must stay referenced for as long as native code may read the address.
 */
export function addressOf(buffer: ArrayBuffer): bigint {
  return (buffer as ArrayBuffer & { getAddress(): bigint }).getAddress();
}

/**
 * An external ArrayBuffer over `byteLength` bytes of native memory at `address` (e.g. a `vkMapMemory` pointer).
 *
 * Nothing owns it: it stays valid only while that memory does (until `vkUnmapMemory` / `vkFreeMemory`), and
 * touching it after that is undefined behaviour. Use it in tests and bootstrap code, not for long-lived mappings.
 */
export function arrayBufferAt(address: bigint, byteLength: number): ArrayBuffer {
  return (ArrayBuffer as unknown as { fromAddress(a: bigint, n: number): ArrayBuffer }).fromAddress(
    address,
    byteLength,
  );
}
