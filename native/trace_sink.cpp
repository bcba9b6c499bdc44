// Allocate, AllocateLike and Free records encoded in the native creation and free calls (see trace_sink.h for the
// protocol with engine/trace/writer.ts). A full record is what the writer's JS encoder writes for the same call:
// unsigned LEB128 varints of the Numbers as JS holds them (anything not in [0, 2^53) is 0, a fraction its integer
// part), the priority as a little-endian double, names as a length and their bytes.
#include "trace_sink.h"

#include <cmath>
#include <cstring>

#include "addon.h"

namespace vkmem {

namespace {

constexpr uint8_t kAllocateRecord = 6;  // RecordKind.Allocate (engine/trace/format.ts)
constexpr uint8_t kFreeRecord = 7;      // RecordKind.Free
constexpr uint8_t kAllocateLikeRecord = 23;  // RecordKind.AllocateLike (format 1.1)
constexpr double kMaxSafe = 9007199254740991.0;
// Resource description slots per kind (memory, buffer, image), as engine/memory/recording.ts RESOURCE_COUNT.
constexpr int kResourceCount[3] = {3, 4, 13};
// The longest name written here; a longer one (rare) is left to TS.
constexpr size_t kMaxName = 254;

inline uint8_t* PutU64(uint8_t* p, uint64_t u) {
  while (u >= 0x80) {
    *p++ = static_cast<uint8_t>((u & 0x7f) | 0x80);
    u >>= 7;
  }
  *p++ = static_cast<uint8_t>(u);
  return p;
}

// Most fields are below 128: one byte, no loop. Otherwise as the JS encoder: anything outside [0, 2^53) is 0
// (never corrupt the stream on a bad number), a fraction its integer part.
inline uint8_t* PutU(uint8_t* p, double v) {
  if (v >= 0 && v < 128) {
    *p = static_cast<uint8_t>(static_cast<int32_t>(v));
    return p + 1;
  }
  return PutU64(p, v >= 0 && v <= kMaxSafe ? static_cast<uint64_t>(static_cast<int64_t>(v)) : 0);
}

inline uint8_t* PutF64(uint8_t* p, double v) {
  uint64_t bits = 0;
  std::memcpy(&bits, &v, 8);
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(bits >> (8 * i));
  return p + 8;
}

// The record's header at `p`: kind, room for a 1-byte payload length (EndRecord writes it, and moves a longer
// payload to make room for its length), dt: 0, or the time since the last reading when the clock is due (then
// *reading is the new reading, else -1). Returns where the fields go.
inline uint8_t* BeginRecord(const double* s, uint8_t* p, uint8_t kind, double* reading) {
  p[0] = kind;
  p += 2;
  if (s[TraceState::kClockSkip] > 0) {
    *reading = -1;
    *p++ = 0;
    return p;
  }
  *reading = TraceClockUs();
  return PutU(p, *reading - s[TraceState::kLastUs]);
}

// A written record's effect on the clock countdown, as the writer's #begin.
inline void CountRecord(double* s, double reading) {
  if (reading < 0) {
    s[TraceState::kClockSkip] -= 1;
  } else {
    s[TraceState::kClockSkip] = s[TraceState::kClockEvery] - 1;
    s[TraceState::kLastUs] = reading;
  }
}

// The payload's length after the kind: one byte for the records written here (a few dozen bytes), else the
// 3-byte varint the JS encoder writes, the payload moved to make room. Returns the record's size.
inline size_t EndRecord(uint8_t* start, uint8_t* end) {
  const size_t length = static_cast<size_t>(end - start) - 2;
  if (length < 0x80) {
    start[1] = static_cast<uint8_t>(length);
    return length + 2;
  }
  std::memmove(start + 4, start + 2, length);
  start[1] = static_cast<uint8_t>((length & 0x7f) | 0x80);
  start[2] = static_cast<uint8_t>(((length >> 7) & 0x7f) | 0x80);
  start[3] = static_cast<uint8_t>((length >> 14) & 0x7f);
  return length + 4;
}

// Where a record may start now, or nullptr when TS must write it (closed, or too little room).
inline uint8_t* RecordStart(TraceSink& sink) {
  const double* s = sink.state;
  if (s[TraceState::kOpen] != 1) return nullptr;
  const double pos = s[TraceState::kPos];
  if (!(pos >= 0 && pos <= sink.lastStart)) return nullptr;
  return sink.bytes + static_cast<size_t>(pos);
}

}  // namespace

void TraceAllocate(TraceSink& sink, const double* f64, uint64_t memory, int kind, const char* name, size_t nameLength) {
  if (kind < 0 || kind > 2 || nameLength > kMaxName) return;
  for (size_t i = 0; i < nameLength; ++i) {
    if (static_cast<unsigned char>(name[i]) >= 0x80) return;  // TS encodes other names (TextEncoder)
  }
  uint8_t* const start = RecordStart(sink);
  if (start == nullptr) return;
  double* s = sink.state;
  const double* in = f64 + Scratch::kIn0;
  const double* info = f64 + Scratch::kAllocFlags;
  const double memoryType = f64[Scratch::kOutMemoryType];
  const double blockSize = f64[Scratch::kOutBlockSize];
  const int count = kResourceCount[kind];
  TraceSink::Reference& ref = sink.ref;
  // AllocateLike (format 1.1) when the trace's previous Allocate record is this sink's last one (kept: kAllocateRef)
  // and this allocation differs from it only in its handle, first description value, offset and size.
  bool like = s[TraceState::kAllocateRef] == 1 && ref.valid && !ref.named && nameLength == 0 && ref.kind == kind &&
              sink.infoValid && std::memcmp(sink.infoKey, info, sizeof sink.infoKey) == 0 &&
              ref.memoryType == memoryType && ref.memory == memory && ref.blockSize == blockSize;
  for (int i = 1; like && i < count; ++i) like = ref.resource[i] == in[i];
  double reading = -1;
  uint8_t* p = BeginRecord(s, start, like ? kAllocateLikeRecord : kAllocateRecord, &reading);
  p = PutU(p, f64[Scratch::kOutAllocation]);
  if (like) {
    ref.resource[0] = in[0];
    p = PutU(p, in[0]);
    p = PutU(p, f64[Scratch::kOutOffset]);
    p = PutU(p, f64[Scratch::kOutSize]);
  } else {
    // Fixed-size copies (inlined; the room check left far more than that): the bytes past the length are
    // overwritten.
    std::memcpy(p, sink.allocatorBytes, sizeof sink.allocatorBytes);
    p += sink.allocatorLength;
    *p++ = 0;  // pool: the default pools
    *p++ = static_cast<uint8_t>(kind);
    *p++ = static_cast<uint8_t>(count);
    for (int i = 0; i < count; ++i) {
      ref.resource[i] = in[i];
      p = PutU(p, in[i]);
    }
    // The create info (slots kAllocFlags..kAllocMinAlignment, the pool's slot skipped): most allocations repeat the
    // previous one's, whose bytes are kept.
    if (!sink.infoValid || std::memcmp(sink.infoKey, info, sizeof sink.infoKey) != 0) {
      std::memcpy(sink.infoKey, info, sizeof sink.infoKey);
      uint8_t* q = sink.infoBytes;
      q = PutU(q, info[0]);    // flags
      q = PutU(q, info[1]);    // usage
      q = PutU(q, info[2]);    // required
      q = PutU(q, info[3]);    // preferred
      q = PutU(q, info[4]);    // memoryTypeBits
      q = PutF64(q, info[6]);  // priority (slot 5 is the pool, recorded above)
      q = PutU(q, info[7]);    // minAlignment
      sink.infoLength = static_cast<size_t>(q - sink.infoBytes);
      sink.infoValid = true;
    }
    std::memcpy(p, sink.infoBytes, sizeof sink.infoBytes);
    p += sink.infoLength;
    *p++ = 0;  // vkmem flags (canBecomeLost, canMakeOtherLost): none
    p = PutU(p, static_cast<double>(nameLength));
    if (nameLength > 0) std::memcpy(p, name, nameLength);
    p += nameLength;
    *p++ = 0;  // result: VK_SUCCESS (zigzag)
    p = PutU(p, memoryType);
    p = PutU(p, f64[Scratch::kOutOffset]);
    p = PutU(p, f64[Scratch::kOutSize]);
    p = PutU64(p, static_cast<uint32_t>(memory));
    p = PutU64(p, static_cast<uint32_t>(memory >> 32));
    p = PutU(p, blockSize);
    ref.kind = kind;
    ref.named = nameLength > 0;
    ref.memoryType = memoryType;
    ref.memory = memory;
    ref.blockSize = blockSize;
    ref.valid = true;
  }
  s[TraceState::kAllocateRef] = 0;  // until TS keeps this record
  s[TraceState::kPendingLength] = static_cast<double>(EndRecord(start, p));
  s[TraceState::kPendingAt] = s[TraceState::kPos];
  s[TraceState::kPendingClock] = reading;
  s[TraceState::kPendingHandle] = f64[Scratch::kOutAllocation];
}

void TraceFree(TraceSink& sink, double handle) {
  double* s = sink.state;
  if (s[TraceState::kFreeArm] != handle) return;
  uint8_t* const start = RecordStart(sink);
  if (start == nullptr) return;
  double reading = -1;
  uint8_t* p = BeginRecord(s, start, kFreeRecord, &reading);
  p = PutU(p, handle);
  s[TraceState::kPos] += static_cast<double>(EndRecord(start, p));
  s[TraceState::kRecords] += 1;
  CountRecord(s, reading);
  s[TraceState::kFreeArm] = 0;
}

double TraceClockUs() { return std::floor(static_cast<double>(MonotonicNs()) / 1000.0); }

namespace {

// setTraceSink(allocator, bytes, state, traceAllocator): from now on the allocator's hot creations and frees write
// their records into `bytes` as trace_sink.h says; `bytes` null takes the sink away.
Napi::Value SetTraceSink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon& addon = *static_cast<Addon*>(info.Data());
  AllocatorSlot& slot = addon.AllocatorFrom(env, info[0]);
  if (info.Length() < 2 || info[1].IsNull() || info[1].IsUndefined()) {
    slot.trace.reset();
    return env.Undefined();
  }
  if (info.Length() < 4 || !info[1].IsArrayBuffer() || !info[2].IsArrayBuffer() || !info[3].IsNumber()) {
    throw TypeErrorFor(env,
                       "setTraceSink: (allocator, bytes: ArrayBuffer, state: ArrayBuffer, traceAllocator: number)");
  }
  Napi::ArrayBuffer bytes = info[1].As<Napi::ArrayBuffer>();
  Napi::ArrayBuffer state = info[2].As<Napi::ArrayBuffer>();
  if (bytes.ByteLength() < kTraceRoom || state.ByteLength() < TraceState::kSlots * sizeof(double) ||
      reinterpret_cast<uintptr_t>(state.Data()) % alignof(double) != 0) {
    throw RangeErrorFor(env, "setTraceSink: a buffer too small or a misaligned state");
  }
  auto sink = std::make_unique<TraceSink>();
  sink->bytes = static_cast<uint8_t*>(bytes.Data());
  sink->capacity = bytes.ByteLength();
  sink->lastStart = static_cast<double>(sink->capacity - kTraceRoom);
  sink->state = static_cast<double*>(state.Data());
  const double allocatorId = info[3].As<Napi::Number>().DoubleValue();
  sink->allocatorLength = static_cast<size_t>(PutU(sink->allocatorBytes, allocatorId) - sink->allocatorBytes);
  sink->bytesRef = Napi::Persistent(bytes);
  sink->stateRef = Napi::Persistent(state);
  slot.trace = std::move(sink);
  return env.Undefined();
}

// traceClock(): TraceClockUs, for the writer's own records (no VMA call, so no guard).
napi_value TraceClock(napi_env env, napi_callback_info) {
  napi_value value = nullptr;
  napi_create_double(env, TraceClockUs(), &value);
  return value;
}

}  // namespace

void RegisterTraceSinks(Napi::Env env, Napi::Object exports, Addon* addon) {
  exports.Set("setTraceSink", Napi::Function::New(env, GuardedFunction<SetTraceSink>, "setTraceSink", addon));
  DefineHotFunction(env, exports, addon, "traceClock", TraceClock);
}

}  // namespace vkmem
