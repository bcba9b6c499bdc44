/**
 * The buffers and images of every allocator of the process, for the calls that take raw handles from the caller
 * (allocateMemoryForBuffer / ForImage, bindBufferMemory / bindImageMemory): a handle vkmem destroyed is a
 * DestroyedResourceError, the live buffer or image of any allocation (of any allocator, made by vkmem or bound
 * through it) a TypeError naming its owner, a handle vkmem never saw is trusted as nvk trusts it.
 *
 * Invariants: every buffer or image an allocator creates or binds is remembered here from its creation (or bind)
 * until it is destroyed, and then stays known as dead by its handle object (engine/vulkan/handles.ts,
 * HandleRegistry). The allocators are held weakly, so that one dropped without destroy() is still collected.
 * @module
 */
import { DestroyedResourceError, describeValue } from "../errors.js";
import type { NativeAddon } from "../native.js";
import { HandleRegistry, handleKeyOfRaw, isNvkHandle, rawHandle, type HandleKey } from "../vulkan/handles.js";
import type { Allocation } from "./allocation.js";

/** What the registry knows of an allocator: its addon build and native handle, its label and device. */
export interface RegisteredAllocator {
  readonly _native: NativeAddon;
  readonly _handle: number;
  readonly label: string | undefined;
  readonly device: any;
}

function fail(op: string, arg: string, what: string, value: unknown, Ctor: typeof TypeError = RangeError): never {
  throw new Ctor(`${op}: ${arg} ${what}, got ${describeValue(value)}`);
}

/**
 * What owns a buffer or image the registry knows: an {@link Allocation} (its own resource), or an aliasing resource
 * bound beside it (./aliasing.ts), which names its allocation's allocator and label.
 */
export interface RegisteredOwner {
  readonly _handle: number;
  readonly destroyed: boolean;
  readonly _resourceKey: HandleKey;
  readonly allocator: RegisteredAllocator;
  readonly label: string | undefined;
}

/**
 * The buffers and images of every allocator of the process (created by vkmem, or bound with bindBufferMemory /
 * bindImageMemory, or aliasing an allocation), for the calls that take raw handles: dead ones by handle object, live
 * ones by value (engine/vulkan/handles.ts, HandleRegistry).
 */
export const knownHandles = new HandleRegistry<RegisteredOwner | Allocation>();

/**
 * The allocators alive in this process (few), to name the owner of a live handle found natively; weakly, so that an
 * allocator dropped without destroy() is still collected (and reported).
 */
const liveAllocators = new Set<WeakRef<RegisteredAllocator>>();

/** The allocators of {@link liveAllocators} still reachable (dropping the collected ones' entries). */
function reachableAllocators(): RegisteredAllocator[] {
  const out: RegisteredAllocator[] = [];
  for (const ref of liveAllocators) {
    const a = ref.deref();
    if (a === undefined) liveAllocators.delete(ref);
    else out.push(a);
  }
  return out;
}

/** An allocator was created: the registry may name it as the owner of a handle found natively. */
export function registerAllocator(ref: WeakRef<RegisteredAllocator>): void {
  liveAllocators.add(ref);
}

/** An allocator was destroyed. */
export function unregisterAllocator(ref: WeakRef<RegisteredAllocator>): void {
  liveAllocators.delete(ref);
}

/**
 * Checks a raw buffer or image handle given to allocateMemoryFor* / bind*Memory (messages name `arg`): an nvk handle
 * object that is not VK_NULL_HANDLE, not one vkmem destroyed, and not the live buffer or image of any allocation.
 * @returns its raw value.
 */
export function checkRawResource(
  self: RegisteredAllocator,
  resource: unknown,
  op: string,
  arg: string,
  cls: "VkBuffer" | "VkImage",
): bigint {
  if (!isNvkHandle(resource, cls)) fail(op, arg, `must be an nvk ${cls}`, resource, TypeError);
  const raw = rawHandle(resource);
  const dead = knownHandles.deadOwner(resource, raw);
  if (dead !== undefined) throw new DestroyedResourceError(cls === "VkBuffer" ? "Buffer" : "Image", dead.label, op);
  if (raw === 0n) fail(op, arg, "is VK_NULL_HANDLE", resource, TypeError);
  let ownerAllocator: RegisteredAllocator | undefined;
  let ownerName: string | null = null;
  const bound = knownHandles.liveOwner(handleKeyOfRaw(raw));
  if (bound !== undefined) {
    ownerAllocator = bound.allocator;
    ownerName = bound.label ?? null;
  } else {
    const allocators = reachableAllocators();
    for (const addon of new Set(allocators.map((a) => a._native))) {
      const found = addon.findResource(raw);
      if (found === null) continue;
      ownerAllocator = allocators.find((a) => a._native === addon && a._handle === found.allocator);
      ownerName = found.name;
      break;
    }
  }
  if (ownerAllocator !== undefined) {
    const name = ownerName === null ? "an unnamed allocation" : `allocation '${ownerName}'`;
    const where =
      ownerAllocator === self
        ? "of this allocator"
        : `of another allocator${ownerAllocator.label ? ` ('${ownerAllocator.label}')` : ""}${rawHandle(ownerAllocator.device) !== rawHandle(self.device) ? " over another device" : ""}`;
    fail(
      op,
      arg,
      `is the live ${cls === "VkBuffer" ? "buffer" : "image"} of ${name} ${where}: it has its memory already`,
      resource,
      TypeError,
    );
  }
  return raw;
}
