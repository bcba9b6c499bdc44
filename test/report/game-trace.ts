/**
 * A realistic 50-frame trace for the report's tests, written with TraceWriter: one allocator (a 512 MiB device-local
 * heap, a 256 MiB host heap, three memory types), a custom pool for particles, a level loaded at frame 0 and a
 * second at frame 25 (the first level's meshes freed), per-frame staging buffers, streamed textures with uploads,
 * evictions from frame 20 to 30, a lost allocation, a failed one, a defragmentation move at frame 45, and two leaks
 * that outlive the final frees after the last frame.
 *
 * Placement is a small first-fit over 64 MiB (device) and 16 MiB (host) blocks, so offsets never overlap and the
 * expectations below ({@link GAME_TRACE_FACTS}) are exact.
 */
import { TraceWriter } from "../../engine/trace/writer.js";

const MiB = 1 << 20;
const KiB = 1 << 10;
const ALLOCATOR = 1;
const POOL = 100;
const DEVICE = 0;
const HOST = 1;
const BLOCK_SIZE = [64 * MiB, 16 * MiB, 16 * MiB];
const HEAP_OF_TYPE = [0, 1, 1];
const HEAPS = [512 * MiB, 256 * MiB];
const BUDGETS = [400 * MiB, 200 * MiB];

/** What the trace holds, for assertions. */
export const GAME_TRACE_FACTS = {
  frames: 50,
  /** Positions in the model: 50 frames and "end" (frees after the last frame). */
  positions: 51,
  leaks: ["debug overlay font", "screenshot readback"],
  /** Alive from frame 0 to the end frees: 16 MiB, sampled image, the first allocation of device block 0. */
  hero: { name: "hero texture", size: 16 * MiB, offset: 0 },
  /** Made at frame 25 (position 25), alive to the end frees. */
  level2: { name: "level 2 terrain mesh", size: 24 * MiB, born: 25 },
  /** Freed at frame 25. */
  level1: { name: "level 1 terrain mesh", size: 24 * MiB, died: 25 },
  largest: { name: "shadow atlas", size: 48 * MiB },
  evictions: 11,
  lost: 1,
  failed: 1,
  /** The particles pool's blocks. */
  poolName: "particles",
  moved: "level 2 props mesh",
};

interface Placed {
  id: number;
  type: number;
  block: number;
  offset: number;
  size: number;
}

/** Writes the trace to `file`. */
export function writeGameTrace(file: string): void {
  const w = TraceWriter.open(file, {
    producer: "vkmem report test",
    device: "lavapipe (simulated game)",
    apiVersion: (1 << 22) | (3 << 12),
  });
  w.allocatorCreate(ALLOCATOR, "main", 64, 1024, [HEAPS[0]!, 1, HEAPS[1]!, 0], [1, 0, 6, 1, 14, 1], "{}");
  w.poolCreate(POOL, ALLOCATOR, HOST, 0, 4 * MiB, 0, 0, 0, "particles");
  // blocks[type] = list of { id, size, allocations }
  const blocks: Array<Array<{ id: number; size: number; pool: number; live: Placed[] }>> = [[], [], []];
  const live = new Map<number, Placed>();
  let nextId = 1000;
  let nextBlock = 1;
  const scratch = new Float64Array(24);
  const names = new Map<number, string>();

  const firstFit = (type: number, size: number, pool: number): { block: number; offset: number; blockSize: number } => {
    const blockSize = pool ? 4 * MiB : BLOCK_SIZE[type]!;
    if (size > blockSize / 2 && !pool) {
      return { block: nextBlock++, offset: 0, blockSize: size }; // dedicated
    }
    for (const b of blocks[type]!) {
      if (b.pool !== pool) continue;
      let at = 0;
      for (const a of [...b.live].sort((x, y) => x.offset - y.offset)) {
        if (a.offset - at >= size) break;
        at = Math.max(at, a.offset + a.size);
      }
      if (b.size - at >= size) return { block: b.id, offset: at, blockSize: b.size };
    }
    const b = { id: nextBlock++, size: blockSize, pool, live: [] as Placed[] };
    blocks[type]!.push(b);
    return { block: b.id, offset: 0, blockSize };
  };

  /** kind 1 buffer (usage), 2 image (usage, tiling 0), 0 raw memory. */
  const alloc = (name: string, type: number, size: number, kind: 0 | 1 | 2, usage: number, pool = 0): number => {
    const id = nextId++;
    names.set(id, name);
    const where = firstFit(type, size, pool);
    if (kind === 1) scratch.set([size, usage, 0, 0], 0);
    else if (kind === 2) scratch.set([1, 37, 1024, 1024, 1, 1, 1, 1, 0, usage, 0, 0, 0], 0);
    else scratch.set([size, 256, 7], 0);
    scratch.set([0, 0, 0, 0, 0xffffffff, pool, 0.5, 0], 16);
    const count = kind === 1 ? 4 : kind === 2 ? 13 : 3;
    w.allocate(
      id,
      ALLOCATOR,
      pool,
      kind,
      scratch,
      0,
      count,
      scratch,
      16,
      0,
      name,
      0,
      type,
      where.offset,
      size,
      where.block,
      0,
      where.blockSize,
    );
    const placed = { id, type, block: where.block, offset: where.offset, size };
    live.set(id, placed);
    blocks[type]!.find((b) => b.id === where.block)?.live.push(placed);
    return id;
  };
  const release = (id: number, how: "free" | "lost" = "free", frame = 0): void => {
    const p = live.get(id)!;
    if (how === "free") w.free(id);
    else w.lost(id, frame);
    live.delete(id);
    for (const b of blocks[p.type]!) b.live = b.live.filter((a) => a.id !== id);
  };
  const heapUsage = (): number[] => {
    const usage = [0, 0];
    for (let t = 0; t < 3; t++) for (const b of blocks[t]!) usage[HEAP_OF_TYPE[t]!]! += b.size;
    for (const p of live.values())
      if (!blocks[p.type]!.some((b) => b.id === p.block)) usage[HEAP_OF_TYPE[p.type]!]! += p.size;
    return [usage[0]!, BUDGETS[0]!, usage[1]!, BUDGETS[1]!];
  };

  const SAMPLED = 0x4 | 0x2;
  const VERTEX = 0x80 | 0x2;
  const INDEX = 0x40 | 0x2;
  let level1: number[] = [];
  const streamed: number[] = [];
  let evictions = 0;
  let props = 0;
  for (let f = 0; f < 50; f++) {
    w.frameBegin(f);
    if (f === 0) {
      alloc("hero texture", DEVICE, 16 * MiB, 2, SAMPLED);
      alloc("depth buffer", DEVICE, 8 * MiB, 2, 0x20);
      alloc("hdr colour target", DEVICE, 12 * MiB, 2, 0x10 | 0x4);
      alloc("shadow atlas", DEVICE, 48 * MiB, 2, 0x20 | 0x4);
      alloc("camera uniforms", HOST, 64 * KiB, 1, 0x10);
      alloc("light storage", DEVICE, 2 * MiB, 1, 0x20 | 0x2);
      alloc("raw upload heap", HOST, 1 * MiB, 0, 0);
      level1 = [
        alloc("level 1 terrain mesh", DEVICE, 24 * MiB, 1, VERTEX),
        alloc("level 1 terrain indices", DEVICE, 6 * MiB, 1, INDEX),
      ];
      for (let i = 0; i < 6; i++) level1.push(alloc(`level 1 prop ${i}`, DEVICE, (1 + i) * MiB, 1, VERTEX));
      w.upload(0, 60 * MiB);
    }
    if (f === 10) alloc("debug overlay font", DEVICE, 512 * KiB, 2, SAMPLED);
    if (f === 25) {
      w.note("level 2 loaded");
      for (const id of level1) release(id);
      alloc("level 2 terrain mesh", DEVICE, 24 * MiB, 1, VERTEX);
      props = alloc("level 2 props mesh", DEVICE, 5 * MiB, 1, VERTEX);
      w.upload(0, 29 * MiB);
    }
    // Per-frame staging, freed the same frame, and a longer-lived one every 5 frames.
    const staging = alloc(`staging ${f}`, HOST, 256 * KiB, 1, 0x1);
    w.upload(0, 256 * KiB);
    release(staging);
    // Streamed textures: one in every frame until 20; evictions from 20 to 30.
    if (f < 20) {
      streamed.push(alloc(`streamed texture ${f}`, DEVICE, (2 + (f % 3)) * MiB, 2, SAMPLED));
      w.streamerRequest(7, f, 0);
      w.upload(1, (2 + (f % 3)) * MiB);
    } else if (f <= 30 && streamed.length > 0) {
      const id = streamed.shift()!;
      w.streamerEvict(7, f - 20, live.get(id)!.size);
      release(id);
      evictions++;
    }
    // Particles in the custom pool: a few per frame, each living 3 frames.
    alloc(`particles ${f}`, HOST, 512 * KiB, 1, 0x20, POOL);
    if (f >= 3) release([...live.values()].find((p) => p.type === HOST && p.size === 512 * KiB)!.id);
    if (f === 30) w.allocate(nextId++, ALLOCATOR, 0, 1, scratch, 0, 4, scratch, 16, 0, "too big", -2, 0, 0, 0, 0, 0, 0);
    if (f === 35) release(streamed.shift()!, "lost", f);
    if (f === 40) alloc("screenshot readback", HOST, 8 * MiB, 1, 0x2);
    if (f === 45) {
      // Defragmentation: the props mesh moves to the start of a new block.
      const p = live.get(props)!;
      const block = nextBlock++;
      w.move(props, DEVICE, 0, block, 0, 64 * MiB);
      for (const b of blocks[DEVICE]!) b.live = b.live.filter((a) => a.id !== props);
      blocks[DEVICE]!.push({ id: block, size: 64 * MiB, pool: 0, live: [{ ...p, block, offset: 0 }] });
      live.set(props, { ...p, block, offset: 0 });
    }
    w.frameEnd(f, ALLOCATOR, heapUsage(), 4);
  }
  if (evictions !== GAME_TRACE_FACTS.evictions)
    throw new Error(`the trace has ${evictions} evictions, facts say ${GAME_TRACE_FACTS.evictions}`);
  // The end: everything but the leaks is freed, after the last frame.
  for (const p of [...live.values()]) {
    const name = names.get(p.id);
    if (name !== undefined && GAME_TRACE_FACTS.leaks.includes(name)) continue;
    release(p.id);
  }
  w.close();
}
