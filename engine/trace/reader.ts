/**
 * Reads a vkmem trace (./format.ts) back into records. The reader trusts nothing in the file: every length, count
 * and varint is checked against the bytes that remain, and anything that does not fit the format is a
 * {@link TraceFormatError} naming the byte offset and what was expected there. A file cut short in the middle of a
 * record (the writer's process died) is reported the same way; {@link readTrace} with `{ partial: true }` instead
 * returns the whole records before the cut and says where it was.
 *
 * Unknown record kinds (a newer minor version) are skipped and counted; fields appended to a known kind's payload
 * are skipped by its length. An AllocateLike record (minor version 1) is returned as the Allocate record it stands
 * for: the previous Allocate record with its four fields replaced.
 * @module
 */
import {
  ALLOCATE_LIKE_FIELDS,
  FIELDS,
  KIND_NAMES,
  RecordKind,
  TRACE_HEADER_BYTES,
  TRACE_MAGIC,
  TRACE_MAJOR,
  TraceFormatError,
  type FieldType,
  type RecordOf,
  type TraceRecord,
} from "./format.js";

/** What {@link readTrace} returns. */
export interface Trace {
  /** Major and minor version of the file. */
  version: { major: number; minor: number };
  /** The records in file order. */
  records: TraceRecord[];
  /** Records of kinds this reader does not know (written by a newer minor version), skipped. */
  skippedRecords: number;
  /** With `partial`: where the file was cut short, and what was expected there; null when it ends cleanly. */
  truncated: { offset: number; expected: string } | null;
}

/** Options of {@link readTrace}. */
export interface ReadTraceOptions {
  /** Return the records before a cut (a crashed writer) instead of throwing. Other damage still throws. */
  partial?: boolean;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** A cursor over the bytes; every read checks what remains. */
class Cursor {
  offset: number;
  constructor(
    readonly bytes: Uint8Array,
    offset: number,
    /** Where the current payload ends (reads past it are errors too). */
    public end: number,
  ) {
    this.offset = offset;
  }

  varint(what: string): number {
    let value = 0;
    let scale = 1;
    const start = this.offset;
    for (let i = 0; ; i++) {
      if (this.offset >= this.end) throw new Truncation(start, `a varint (${what})`);
      const byte = this.bytes[this.offset++]!;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) break;
      scale *= 128;
      if (i === 7) throw new TraceFormatError(start, `a varint of at most 8 bytes (${what})`, "a longer one");
    }
    if (value > Number.MAX_SAFE_INTEGER)
      throw new TraceFormatError(start, `a varint below 2^53 (${what})`, String(value));
    return value;
  }

  zigzag(what: string): number {
    const v = this.varint(what);
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }

  f64(what: string): number {
    if (this.offset + 8 > this.end) throw new Truncation(this.offset, `an 8-byte double (${what})`);
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.offset, 8).getFloat64(0, true);
    this.offset += 8;
    return v;
  }

  string(what: string): string {
    const start = this.offset;
    const length = this.varint(`the byte length of ${what}`);
    if (this.offset + length > this.end) throw new Truncation(start, `${length} bytes of UTF-8 (${what})`);
    try {
      const s = decoder.decode(this.bytes.subarray(this.offset, this.offset + length));
      this.offset += length;
      return s;
    } catch {
      throw new TraceFormatError(this.offset, `valid UTF-8 (${what})`, "invalid bytes");
    }
  }

  list(what: string): number[] {
    const start = this.offset;
    const count = this.varint(`the count of ${what}`);
    // Each element takes at least one byte: a count beyond the payload is damage, not a reason to allocate.
    if (count > this.end - this.offset) throw new Truncation(start, `${count} varints (${what})`);
    const out = new Array<number>(count);
    for (let i = 0; i < count; i++) out[i] = this.varint(`${what}[${i}]`);
    return out;
  }
}

/** A read ran past the bytes that remain: the file (or a payload) was cut short. */
class Truncation extends TraceFormatError {
  constructor(offset: number, expected: string) {
    super(offset, expected, "the end of the data");
  }
}

function readField(cursor: Cursor, type: FieldType, what: string): number | string | number[] {
  switch (type) {
    case "u":
      return cursor.varint(what);
    case "i":
      return cursor.zigzag(what);
    case "f":
      return cursor.f64(what);
    case "s":
      return cursor.string(what);
    case "u*":
      return cursor.list(what);
  }
}

/**
 * Parses a whole trace.
 * @throws TraceFormatError for a file that is not a vkmem trace, of an unknown major version, damaged, or (without
 *   `partial`) cut short; its `offset` and `expected` say where and what.
 */
export function readTrace(bytes: Uint8Array, options: ReadTraceOptions = {}): Trace {
  if (bytes.length < TRACE_HEADER_BYTES) {
    if (bytes.length >= 8 && new TextDecoder().decode(bytes.subarray(0, 8)) !== TRACE_MAGIC) {
      throw new TraceFormatError(
        0,
        `the magic "${TRACE_MAGIC}"`,
        JSON.stringify(new TextDecoder().decode(bytes.subarray(0, 8))),
      );
    }
    throw new TraceFormatError(bytes.length, `a ${TRACE_HEADER_BYTES}-byte header`, `${bytes.length} bytes`);
  }
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== TRACE_MAGIC) throw new TraceFormatError(0, `the magic "${TRACE_MAGIC}"`, JSON.stringify(magic));
  const header = new DataView(bytes.buffer, bytes.byteOffset, TRACE_HEADER_BYTES);
  const major = header.getUint16(8, true);
  const minor = header.getUint16(10, true);
  if (major !== TRACE_MAJOR) throw new TraceFormatError(8, `major version ${TRACE_MAJOR}`, `version ${major}.${minor}`);

  const records: TraceRecord[] = [];
  /** The last Allocate record, which an AllocateLike record repeats. */
  let lastAllocate: RecordOf<RecordKind.Allocate> | null = null;
  let skipped = 0;
  let timeUs = 0;
  const cursor = new Cursor(bytes, TRACE_HEADER_BYTES, bytes.length);
  // Inside a payload whose length fits the file, running out is damage; before that, it is a cut.
  let inPayload = false;
  try {
    while (cursor.offset < bytes.length) {
      const start = cursor.offset;
      cursor.end = bytes.length;
      inPayload = false;
      const kind = bytes[cursor.offset++]!;
      const length = cursor.varint("a record's payload length");
      if (cursor.offset + length > bytes.length) throw new Truncation(start, `a record of ${length} payload bytes`);
      const payloadEnd = cursor.offset + length;
      if (kind === RecordKind.AllocateLike) {
        cursor.end = payloadEnd;
        inPayload = true;
        timeUs += cursor.varint("field 'dt' of an AllocateLike record");
        const read: Record<string, number> = {};
        for (const [field] of ALLOCATE_LIKE_FIELDS)
          read[field] = cursor.varint(`field '${field}' of an AllocateLike record`);
        const previous = lastAllocate as RecordOf<RecordKind.Allocate> | null;
        if (previous === null)
          throw new TraceFormatError(start, "an Allocate record before an AllocateLike record", "none");
        const expanded: RecordOf<RecordKind.Allocate> = {
          ...previous,
          fileOffset: start,
          timeUs,
          allocation: read.allocation!,
          resource: [read.resource0!, ...previous.resource.slice(1)],
          offset: read.offset!,
          size: read.size!,
        };
        lastAllocate = expanded;
        records.push(expanded);
        cursor.offset = payloadEnd;
        continue;
      }
      const fields = (FIELDS as Record<number, readonly (readonly [string, FieldType])[]>)[kind];
      if (kind === 0 || fields === undefined) {
        skipped++;
        cursor.offset = payloadEnd;
        continue;
      }
      const name = KIND_NAMES[kind as RecordKind];
      cursor.end = payloadEnd;
      inPayload = true;
      timeUs += cursor.varint(`field 'dt' of a ${name} record`);
      const record: Record<string, unknown> = { kind, fileOffset: start, timeUs };
      for (const [field, type] of fields)
        record[field] = readField(cursor, type, `field '${field}' of a ${name} record`);
      cursor.offset = payloadEnd; // fields a newer minor version appended
      records.push(record as TraceRecord);
      if (kind === RecordKind.Allocate) lastAllocate = record as RecordOf<RecordKind.Allocate>;
    }
  } catch (e) {
    // A read that ran out at the file's end is a cut (a crash); one that ran out inside a payload whose length
    // fits the file is damage.
    if (e instanceof Truncation && options.partial && !inPayload) {
      return {
        version: { major, minor },
        records,
        skippedRecords: skipped,
        truncated: { offset: e.offset, expected: e.expected },
      };
    }
    throw e;
  }
  return { version: { major, minor }, records, skippedRecords: skipped, truncated: null };
}
