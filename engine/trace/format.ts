/**
 * The vkmem trace format, version 1.1: what a recording writes (./writer.ts) and what the replay and the report read
 * (./reader.ts). This table is the one definition of every record; the writer and the reader follow it.
 *
 * A trace is a header and a stream of records, little-endian:
 *
 *     header   "VKMTRACE" (8 bytes), major version (u16), minor version (u16), reserved (u32, zero)
 *     record   kind (u8), payload length in bytes (varint), payload
 *     payload  the kind's fields in order (FIELDS below), then nothing a version-1 reader needs
 *
 * Field types: `u` an unsigned integer below 2^53 as LEB128 (7 bits a byte, low first); `i` a signed integer, zigzag
 * then LEB128; `f` an IEEE-754 double (8 bytes); `s` a UTF-8 string, its byte length as a `u` first (the empty string
 * stands for "none" where a name is optional); `u*` a count as a `u`, then that many `u`.
 *
 * Every payload starts with `dt`: microseconds since the previous record (since the Session record for the first
 * one), so a trace carries time without absolute clocks in every record.
 *
 * Compatibility: a reader refuses a major version it does not know. Within a major version, a newer minor version
 * may append fields at the end of a payload (a reader skips what it does not know, the length says how much) and
 * may add record kinds (a reader skips unknown kinds and counts them). Fields are never removed or reordered.
 *
 * Minor version 1 adds AllocateLike (kind 23), an Allocate record written short: `dt`, then `allocation`,
 * `resource0`, `offset` and `size` ({@link ALLOCATE_LIKE_FIELDS}). It stands for the previous Allocate record of
 * the trace (an AllocateLike one as it stands for) with those four fields replaced, `resource0` being the first
 * value of `resource` (a buffer's size); every other field, the rest of `resource` included, is the previous
 * record's. The reader returns it as that Allocate record, so nothing after the reader ever sees the kind; one with
 * no Allocate record before it is damage. The native encoder of a recording allocator writes it for allocations
 * that repeat the one before but for those fields (native/trace_sink.h), which halves a trace's bytes when a game
 * allocates the same kind of buffer over and over. A 1.0 trace has none and reads as before; a 1.0 reader skips
 * these records (and counts them).
 *
 * Identifiers: allocators, pools, allocations, virtual blocks and streamers are named by the numbers vkmem gives them
 * (an allocation's native handle, a pool's handle, ...), unique among live objects of their kind in one trace; a
 * reader must not assume they are never reused after the object is gone. `memoryLo`/`memoryHi` are the two halves of
 * the VkDeviceMemory handle: equal pairs mean the same block while it lives. A buddy pool's sub-allocations are
 * numbered from 2^52 (apart from VMA's handles); the VMA blocks under them are not in the trace. A virtual block's
 * clear() is written as its VirtualBlockDestroy and a new VirtualBlockCreate of the same number.
 * @module
 */

/** The first 8 bytes of every trace. */
export const TRACE_MAGIC = "VKMTRACE";
/** The major version this code writes and reads. */
export const TRACE_MAJOR = 1;
/** The minor version this code writes. */
export const TRACE_MINOR = 1;
/** Header length in bytes. */
export const TRACE_HEADER_BYTES = 16;

/** Record kinds. Values are part of the format: never renumber. */
export enum RecordKind {
  Session = 1,
  AllocatorCreate = 2,
  AllocatorDestroy = 3,
  PoolCreate = 4,
  PoolDestroy = 5,
  Allocate = 6,
  Free = 7,
  Map = 8,
  Unmap = 9,
  SetName = 10,
  Lost = 11,
  FrameBegin = 12,
  FrameEnd = 13,
  VirtualBlockCreate = 14,
  VirtualAllocate = 15,
  VirtualFree = 16,
  VirtualBlockDestroy = 17,
  StreamerRequest = 18,
  StreamerEvict = 19,
  Upload = 20,
  Move = 21,
  Note = 22,
  /** Minor version 1: an Allocate record written short (see the module comment); the reader expands it. */
  AllocateLike = 23,
}

/** A field's wire type (see the module comment). */
export type FieldType = "u" | "i" | "f" | "s" | "u*";

/**
 * The fields of each record kind after `dt`, in wire order: [name, type]. The record objects the reader returns
 * carry exactly these names (see {@link TraceRecord}).
 */
export const FIELDS = {
  /** Once, first: who wrote the trace and on what. `startMs`: wall clock at the start (ms since 1970). */
  [RecordKind.Session]: [
    ["startMs", "f"],
    ["producer", "s"],
    ["device", "s"],
    ["apiVersion", "u"],
  ],
  /**
   * An allocator: the device's heaps (`heaps`: size, flags per heap) and memory types (`types`: property flags, heap
   * index per type), and the options createAllocator got, as JSON (for what-if replays).
   */
  [RecordKind.AllocatorCreate]: [
    ["allocator", "u"],
    ["label", "s"],
    ["nonCoherentAtomSize", "u"],
    ["bufferImageGranularity", "u"],
    ["heaps", "u*"],
    ["types", "u*"],
    ["options", "s"],
  ],
  [RecordKind.AllocatorDestroy]: [["allocator", "u"]],
  /** `algorithm`: 0 TLSF, 1 linear, 2 buddy. `maxBlockCount` 0: no limit; `blockSize` 0: VMA's choice. */
  [RecordKind.PoolCreate]: [
    ["pool", "u"],
    ["allocator", "u"],
    ["memoryType", "u"],
    ["algorithm", "u"],
    ["blockSize", "u"],
    ["minBlockCount", "u"],
    ["maxBlockCount", "u"],
    ["minAllocationAlignment", "u"],
    ["name", "s"],
  ],
  [RecordKind.PoolDestroy]: [["pool", "u"]],
  /**
   * An allocation, as vkmem handed it to VMA: `resourceKind` 0 raw memory, 1 buffer, 2 image; `resource`: the resource
   * description in the order the native layer reads it (buffer: size, usage, flags, sharing mode; image: type, format,
   * width, height, depth, mip levels, array layers, samples, tiling, usage, flags, initial layout, sharing mode; raw
   * memory: size, alignment, memoryTypeBits); the VmaAllocationCreateInfo (`vmaFlags`, `vmaUsage`, `requiredFlags`,
   * `preferredFlags`, `memoryTypeBits`, `priority`, `minAlignment`); `vkmemFlags`, what vkmem adds (1 canBecomeLost,
   * 2 canMakeOtherLost); `pool` 0 for the default pools. `result` is the
   * VkResult (0 success); on success `memoryType`, `offset`, `size`, `memoryLo`, `memoryHi` say where it went and
   * `blockSize` how large that VkDeviceMemory is (the allocation's own size when it is dedicated).
   */
  [RecordKind.Allocate]: [
    ["allocation", "u"],
    ["allocator", "u"],
    ["pool", "u"],
    ["resourceKind", "u"],
    ["resource", "u*"],
    ["vmaFlags", "u"],
    ["vmaUsage", "u"],
    ["requiredFlags", "u"],
    ["preferredFlags", "u"],
    ["memoryTypeBits", "u"],
    ["priority", "f"],
    ["minAlignment", "u"],
    ["vkmemFlags", "u"],
    ["name", "s"],
    ["result", "i"],
    ["memoryType", "u"],
    ["offset", "u"],
    ["size", "u"],
    ["memoryLo", "u"],
    ["memoryHi", "u"],
    ["blockSize", "u"],
  ],
  [RecordKind.Free]: [["allocation", "u"]],
  [RecordKind.Map]: [["allocation", "u"]],
  [RecordKind.Unmap]: [["allocation", "u"]],
  [RecordKind.SetName]: [
    ["allocation", "u"],
    ["name", "s"],
  ],
  /** vkmem made the allocation lost (its memory went to a newer allocation) in `frame`. */
  [RecordKind.Lost]: [
    ["allocation", "u"],
    ["frame", "u"],
  ],
  [RecordKind.FrameBegin]: [["frame", "u"]],
  /** The end of a frame, with each heap's usage and budget then (`budgets`: usage, budget per heap of `allocator`). */
  [RecordKind.FrameEnd]: [
    ["frame", "u"],
    ["allocator", "u"],
    ["budgets", "u*"],
  ],
  /** `algorithm`: 0 TLSF, 1 linear, 2 buddy. */
  [RecordKind.VirtualBlockCreate]: [
    ["block", "u"],
    ["size", "u"],
    ["algorithm", "u"],
    ["name", "s"],
  ],
  /** `result` 0: placed at `offset`; else the VkResult and `offset` 0. */
  [RecordKind.VirtualAllocate]: [
    ["block", "u"],
    ["allocation", "u"],
    ["size", "u"],
    ["alignment", "u"],
    ["flags", "u"],
    ["result", "i"],
    ["offset", "u"],
  ],
  [RecordKind.VirtualFree]: [
    ["block", "u"],
    ["allocation", "u"],
  ],
  [RecordKind.VirtualBlockDestroy]: [["block", "u"]],
  /**
   * A TextureStreamer asked for `mip` of `texture` (its registration number, from 1) in the current frame: the
   * first request of the texture in the frame, or one for a larger mip than the frame wanted so far.
   */
  [RecordKind.StreamerRequest]: [
    ["streamer", "u"],
    ["texture", "u"],
    ["mip", "u"],
  ],
  /** A TextureStreamer evicted `bytes` of `texture` to stay within its budget. */
  [RecordKind.StreamerEvict]: [
    ["streamer", "u"],
    ["texture", "u"],
    ["bytes", "u"],
  ],
  /** Bytes copied to the GPU in the current frame through `source` (0 FrameManager upload, 1 streamer). */
  [RecordKind.Upload]: [
    ["source", "u"],
    ["bytes", "u"],
  ],
  /** Defragmentation moved `allocation` to a new place. */
  [RecordKind.Move]: [
    ["allocation", "u"],
    ["memoryType", "u"],
    ["offset", "u"],
    ["memoryLo", "u"],
    ["memoryHi", "u"],
    ["blockSize", "u"],
  ],
  /** A marker the application wrote (e.g. "level 2 loaded"). */
  [RecordKind.Note]: [["text", "s"]],
} as const satisfies Record<Exclude<RecordKind, RecordKind.AllocateLike>, readonly (readonly [string, FieldType])[]>;

/**
 * The fields of an AllocateLike record after `dt`, in wire order (see the module comment): the reader returns the
 * Allocate record it stands for, never a record of this kind.
 */
export const ALLOCATE_LIKE_FIELDS = [
  ["allocation", "u"],
  ["resource0", "u"],
  ["offset", "u"],
  ["size", "u"],
] as const satisfies readonly (readonly [string, FieldType])[];

/** The JS type of a field of wire type T. */
export type FieldValue<T extends FieldType> = T extends "s" ? string : T extends "u*" ? number[] : number;
/** The fields of a record kind, by name, from its FIELDS entry. */
export type Fields<L extends readonly (readonly [string, FieldType])[]> = {
  [E in L[number] as E[0]]: FieldValue<E[1]>;
};

/**
 * One decoded record: its kind, where it starts in the file (`fileOffset`), its time (µs since the Session record),
 * and its fields.
 */
export type TraceRecord = {
  [K in keyof typeof FIELDS]: { kind: K; fileOffset: number; timeUs: number } & Fields<(typeof FIELDS)[K]>;
}[keyof typeof FIELDS];

/** The record of one kind. */
export type RecordOf<K extends RecordKind> = Extract<TraceRecord, { kind: K }>;

/** Names of the record kinds, for messages and reports. */
export const KIND_NAMES: Readonly<Record<RecordKind, string>> = {
  [RecordKind.Session]: "Session",
  [RecordKind.AllocatorCreate]: "AllocatorCreate",
  [RecordKind.AllocatorDestroy]: "AllocatorDestroy",
  [RecordKind.PoolCreate]: "PoolCreate",
  [RecordKind.PoolDestroy]: "PoolDestroy",
  [RecordKind.Allocate]: "Allocate",
  [RecordKind.Free]: "Free",
  [RecordKind.Map]: "Map",
  [RecordKind.Unmap]: "Unmap",
  [RecordKind.SetName]: "SetName",
  [RecordKind.Lost]: "Lost",
  [RecordKind.FrameBegin]: "FrameBegin",
  [RecordKind.FrameEnd]: "FrameEnd",
  [RecordKind.VirtualBlockCreate]: "VirtualBlockCreate",
  [RecordKind.VirtualAllocate]: "VirtualAllocate",
  [RecordKind.VirtualFree]: "VirtualFree",
  [RecordKind.VirtualBlockDestroy]: "VirtualBlockDestroy",
  [RecordKind.StreamerRequest]: "StreamerRequest",
  [RecordKind.StreamerEvict]: "StreamerEvict",
  [RecordKind.Upload]: "Upload",
  [RecordKind.Move]: "Move",
  [RecordKind.Note]: "Note",
  [RecordKind.AllocateLike]: "AllocateLike",
};

/**
 * A trace that is not one, or is cut short: `offset` is where in the file reading stopped, `expected` what was
 * expected there. Thrown by the reader, never by the writer.
 */
export class TraceFormatError extends Error {
  /** Byte offset in the file where the problem is. */
  readonly offset: number;
  /** What the reader expected at that offset, e.g. "a varint (field 'size' of an Allocate record)". */
  readonly expected: string;

  constructor(offset: number, expected: string, found: string) {
    super(`vkmem trace: at byte ${offset}: expected ${expected}, found ${found}`);
    this.name = "TraceFormatError";
    this.offset = offset;
    this.expected = expected;
  }
}
