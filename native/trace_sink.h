// The hot records of a recording allocator, encoded here (native/trace_sink.cpp) straight into the buffer of its
// TraceWriter (engine/trace/writer.ts), in the trace format that writer writes (engine/trace/format.ts): a full
// record's fields are byte for byte what the JS encoder writes for them (its payload length takes one byte where the
// JS encoder pads it to three); an AllocateLike record (see Bytes below) is what the reader turns back into that
// full record.
//
// Why: a createBuffer + destroyBuffer pair costs about a microsecond, and encoding its Allocate and Free records
// (some 30 varints) in JS cost a quarter of that again; here, inside the creation and free calls that already
// run, it costs a few tens of nanoseconds. The writer stays the owner of its buffer and of every decision:
//
// - The writer's position, clock countdown and record count live in a small shared Float64Array (the state; the
//   slots below, mirrored in writer.ts: change both together), so both sides write into one stream.
// - Allocate: the creation call writes the record *past* the writer's position without moving it (pending), as
//   it would be with no pool, no vkmem flags and the name the call was given. TS keeps it (moves the position
//   past it) only when the allocation turns out to be exactly that, and only for that handle at that position;
//   otherwise it writes the record itself over the pending bytes. A creation TS gives up on (a bad name) thus
//   leaves nothing behind.
// - Free: TS arms it with the allocation's handle before freeAllocation; the call writes the record and disarms.
//   Left armed (nothing written), TS writes it after the call.
// - Time: the writer reads the clock for one record in CLOCK_EVERY (kClockEvery) and carries dt 0 in the others;
//   its clock is this file's (traceClock, MonotonicNs in microseconds), so that a native record due for a reading
//   takes it here, against the same last reading (kLastUs). A pending record's reading takes effect when it is kept.
// - Neither is written when less than kTraceRoom bytes are left (TS flushes first), for a pool's allocation, or for
//   a name that is not short ASCII: TS writes those, byte for byte what it would have written anyway.
// - Bytes: an allocation that repeats the trace's previous Allocate record but for its handle, first description
//   value (a buffer's size), offset and size is written as an AllocateLike record (format 1.1, engine/trace/format.ts),
//   a third of the size; only when that previous record is this sink's own last one, kept by TS (kAllocateRef: TS
//   clears it whenever it writes an Allocate record itself). Fewer bytes cost less to encode, to flush and in the
//   caches the flush passes through: on lavapipe that halved the recording's cost.
#pragma once

#include <napi.h>
#include <cstddef>
#include <cstdint>

namespace vkmem {

class Addon;

namespace TraceState {
constexpr int kPos = 0;            // the writer's position in the buffer
constexpr int kClockSkip = 1;      // records left before the next clock reading (0: the next one reads it)
constexpr int kRecords = 2;        // records written so far
constexpr int kPendingHandle = 3;  // the allocation whose Allocate record is pending (0: none)
constexpr int kPendingAt = 4;      // where it starts (the position when it was written)
constexpr int kPendingLength = 5;  // its length in bytes
constexpr int kFreeArm = 6;        // the allocation whose Free record freeAllocation writes (0: none)
constexpr int kOpen = 7;           // 1 while the writer is open
constexpr int kLastUs = 8;         // the clock's last reading (microseconds)
constexpr int kClockEvery = 9;     // the writer's CLOCK_EVERY
constexpr int kPendingClock = 10;  // the pending record's clock reading, or -1 when it carries dt 0
constexpr int kAllocateRef = 11;   // 1 while the trace's last Allocate record is this sink's last one (TS kept it)
constexpr int kSlots = 12;
}  // namespace TraceState

// Room a record needs before it starts, as the writer's RECORD_ROOM: below it the writer flushes first.
constexpr size_t kTraceRoom = 4096;

// A recording allocator's writer, as setTraceSink handed it over. Owned by the AllocatorSlot; the references keep
// both buffers alive until the allocator is destroyed or the sink replaced.
struct TraceSink {
  uint8_t* bytes = nullptr;
  size_t capacity = 0;
  double lastStart = 0;  // capacity - kTraceRoom: where the last record written here may start
  double* state = nullptr;
  // The allocator's number in the trace, encoded.
  uint8_t allocatorBytes[16] = {};
  size_t allocatorLength = 0;
  // The create info of the last Allocate record written here (scratch slots kAllocFlags..kAllocMinAlignment) and
  // its encoding: the next allocation's is most often the same.
  double infoKey[8] = {};
  uint8_t infoBytes[64] = {};
  size_t infoLength = 0;
  bool infoValid = false;
  // The last Allocate record written here, as a reader expands it (the fields an AllocateLike record repeats).
  struct Reference {
    double resource[16] = {};
    double memoryType = 0;
    double blockSize = 0;
    uint64_t memory = 0;
    int kind = 0;
    bool named = false;
    bool valid = false;
  } ref;
  Napi::Reference<Napi::ArrayBuffer> bytesRef;
  Napi::Reference<Napi::ArrayBuffer> stateRef;
};

// The pending Allocate record of a successful creation (see above): `kind` 0 memory, 1 buffer, 2 image (the
// format's codes), the resource description and create info read from the scratch `f64`, the outputs too
// (FillAllocationOutputs has run), `memory` the VkDeviceMemory. Writes nothing when the writer must.
void TraceAllocate(TraceSink& sink, const double* f64, uint64_t memory, int kind, const char* name, size_t nameLength);

// The Free record of `handle` when TS armed it (see above).
void TraceFree(TraceSink& sink, double handle);

// The writer's clock: MonotonicNs in whole microseconds.
double TraceClockUs();

// Adds setTraceSink(allocator, bytes: ArrayBuffer | null, state: ArrayBuffer, traceAllocator) and traceClock() to the
// exports.
void RegisterTraceSinks(Napi::Env env, Napi::Object exports, Addon* addon);

}  // namespace vkmem
