/**
 * Test helper: the native virtual blocks of the oracles build (vkmem_oracles.node: the addon that ships has none)
 * called directly (no VirtualBlock), so that the TypeScript buddy and linear allocators can be checked operation by
 * operation against native/buddy.cpp and VMA's linear algorithm. Each block made here must be destroyed with destroy().
 */
import { oracleNative, scratch, Slot } from "../../engine/native.js";

const native = oracleNative();

export const NATIVE_LINEAR = 1;
export const NATIVE_BUDDY = 2;

export class NativeVirtualBlock {
  readonly handle: number;
  constructor(size: number, algorithm: number, minNodeSize = 0) {
    this.handle = native.createVirtualBlock(size, algorithm, minNodeSize);
  }
  /** The offset, or -1; the allocation's handle is then `lastHandle`. */
  allocate(size: number, alignment = 1, flags = 0, userData = 0): number {
    scratch[Slot.VbSize] = size;
    scratch[Slot.VbAlignment] = alignment;
    scratch[Slot.VbFlags] = flags;
    scratch[Slot.VbUserData] = userData;
    return native.virtualAllocate(this.handle);
  }
  get lastHandle(): number {
    return scratch[Slot.OutVbAllocation];
  }
  free(handle: number): void {
    scratch[Slot.VbAllocation] = handle;
    native.virtualFree(this.handle);
  }
  statistics(detailed: boolean): Record<string, number> {
    return native.virtualBlockStatistics(this.handle, detailed) as unknown as Record<string, number>;
  }
  statsString(detailed: boolean): string {
    return native.buildVirtualBlockStatsString(this.handle, detailed);
  }
  clear(): number {
    return native.clearVirtualBlock(this.handle);
  }
  destroy(): void {
    native.destroyVirtualBlock(this.handle);
  }
  /** destroy(), returning the allocations still alive (in the addon's handle order). */
  destroyReport(): { offset: number; size: number; userData: number }[] {
    return native.destroyVirtualBlock(this.handle).leaks;
  }
}
