/**
 * OffsetAllocator: the one interface of the algorithms that hand out ranges of a number line, as VMA's abstract
 * VmaBlockMetadata is for its TLSF and linear metadata. Implemented by {@link TlsfAllocator} (./tlsf-allocator.ts),
 * {@link LinearAllocator} (./linear-allocator.ts) and {@link BuddyAllocator} (./buddy-allocator.ts); a
 * {@link VirtualBlock} holds exactly one and never asks which.
 *
 * Division of work: the caller (VirtualBlock) checks every argument (size a positive safe integer, alignment a
 * power of two, flags known bits, upper-address only where {@link OffsetAllocator.offersUpperAddress}) and turns
 * the negative results into typed errors; the allocator only places and frees. Entries are indices into the
 * allocator's node table (./node-table.ts), valid from {@link OffsetAllocator.entryOf} until the next allocate,
 * free or clear; handles stay valid until their allocation is freed.
 *
 * Hot path: allocate and free take and return Numbers and create no object.
 * @module
 */
import type { NativeDetailedStatistics } from "../native.js";

/**
 * The figures every offset allocator reports: VMA's VmaDetailedStatistics of its one block (so no block count);
 * minimums of empty sets are Infinity.
 */
export type OffsetStatistics = Omit<NativeDetailedStatistics, "blockCount">;

/** One live allocation as destroy() reports it: where it is, the size asked for, the integer user data (0: none). */
export interface OffsetLeak {
  offset: number;
  size: number;
  userData: number;
}

/** {@link OffsetAllocator.allocate}: no free range fits. */
export const NO_FIT = -1;
/** {@link OffsetAllocator.allocate}: the node table holds 2^24 - 1 live allocations already. */
export const TABLE_FULL = -2;
/** {@link OffsetAllocator.allocate}: UPPER_ADDRESS asked of a linear allocator used as a ring buffer. */
export const UPPER_REFUSED = -3;

/** An allocator of offsets in `[0, size)`: one line of contract per member. Made and dropped by its VirtualBlock. */
export interface OffsetAllocator {
  /** The length of the range it hands out, in bytes. */
  readonly size: number;
  /** Allocations alive now. */
  readonly allocationCount: number;
  /** The handle of the allocation the last successful {@link allocate} made; read it right after that call. */
  readonly lastHandle: number;
  /** Bytes inside allocations beyond what was asked (the buddy's rounding; 0 for TLSF and linear). */
  readonly wasteBytes: number;
  /** Whether it offers UPPER_ADDRESS allocations (from the end of the range downwards): the linear one only. */
  readonly offersUpperAddress: boolean;
  /**
   * Places `size` bytes at a multiple of `alignment` (arguments checked by the caller; `flags` are
   * VirtualAllocationCreateFlags bits, `userData` the integer for the JSON). Returns the offset, or
   * {@link NO_FIT}, {@link TABLE_FULL} or {@link UPPER_REFUSED}.
   */
  allocate(size: number, alignment: number, flags: number, userData: number): number;
  /**
   * Frees the allocation a handle names, given as its index and generation (./node-table.ts: handleIndex,
   * handleGeneration; small integers, which a call through this interface passes without boxing, where a handle,
   * a double above 2^31, would be boxed); false, and nothing changed, when they name no live allocation.
   */
  free(index: number, generation: number): boolean;
  /** Frees every allocation at once; every handle given so far becomes stale. */
  clear(): void;
  /** The table entry of the live allocation `handle` names, or -1 (freed, stale, forged). */
  entryOf(handle: number): number;
  /** The offset of a live entry. */
  offsetOf(entry: number): number;
  /** The size asked for by a live entry. */
  sizeOf(entry: number): number;
  /** The integer user data of a live entry (0: none). */
  userDataOf(entry: number): number;
  /** Replaces the integer user data of a live entry. */
  setUserData(entry: number, value: number): void;
  /** Every live allocation, in a stable order (for leak reports). */
  liveAllocations(): OffsetLeak[];
  /** The block's figures; `detailed` adds the allocation size extremes (a walk over the table). */
  statistics(detailed: boolean): OffsetStatistics;
  /** The block's JSON in the text of vmaBuildVirtualBlockStatsString; `detailed` adds every range. */
  statsString(detailed: boolean): string;
}
