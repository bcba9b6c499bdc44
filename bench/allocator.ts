/**
 * bench/allocator: what one createBuffer + destroyBuffer pair costs through vkmem's public TS API, against the same
 * loop in C++ straight on VMA (bench/native/allocator_bench.cpp) and against the raw Vulkan way from JS through nvk.
 *
 * The three loops:
 * - ts: `allocator.createBuffer({ size, usage }, { usage: MemoryUsage.GpuOnly })` then
 *   `allocator.destroyBuffer(buffer, allocation)`, as an application writes it (fresh argument objects per call).
 * - cpp: vmaCreateBuffer + vmaDestroyBuffer in a C++ program built with the addon's VMA header, configuration
 *   header (native/vma_config.h) and -O2 -DNDEBUG, on a device with the same extensions and features as the TS
 *   context and a VmaAllocator with the same flags as the TS Allocator (see the .cpp's header comment). It runs as a
 *   child process and prints its samples as JSON lines.
 * - raw_nvk: per buffer vkCreateBuffer, vkGetBufferMemoryRequirements, choose a DEVICE_LOCAL memory type,
 *   vkAllocateMemory, vkBindBufferMemory, vkDestroyBuffer, vkFreeMemory, through nvk. One VkDeviceMemory per
 *   resource is what sub-allocation replaces; its cost differs by orders of magnitude between lavapipe (a malloc)
 *   and a real driver (~0.7 ms on the H100), so its iteration count is calibrated to about 2 s per repetition,
 *   at most 10,000 pairs.
 * Each buffer is destroyed right after it is created; buffer i of every run has size {@link allocatorBenchSize}(i)
 * (256 B to 64 KiB) and usage VERTEX_BUFFER | TRANSFER_DST. Reported: the median over the repetitions of the
 * nanoseconds per pair. Targets: ts/cpp at most 1.5, raw_nvk/ts at least 10 (reported, never asserted).
 *
 * Side by side in this process (issue 14; the separate C++ program swings between runs): the TS allocator lives in
 * the oracles build of the addon (the shipped sources plus the test oracles, engine/native.ts setAllocatorAddon), so
 * that the same loop in C++ (`benchBufferPairs`, native/batch.cpp) runs on the very same VmaAllocator. Each round
 * runs one chunk of every loop: ts, cpp_inprocess, native_floor (the addon's own two calls from JS, no TS around
 * them: {@link nativeFloorLoop}), batch (`allocator.createBuffers` of 64 descriptions made once,
 * then `destroyBuffers`, per buffer), cpp_batch_inprocess (the batch's pattern in C++: 64 vmaCreateBuffer, then their
 * 64 vmaDestroyBuffer; VMA itself does more work for 64 live allocations than for a pair) and record (the ts loop on
 * an allocator recording a trace), each chunk cut into slices interleaved with the others' ({@link SLICES}), in an
 * order drawn for each slice ({@link sliceOrder}). `ratio_ts_vs_cpp` (ts / cpp_inprocess), `ratio_batch_vs_cpp`
 * (batch / cpp_batch_inprocess; over the pairs as ratio_batch_vs_cpp_pairs) and `record_overhead` (record / ts) are
 * medians over the slices of the ratio of slices that ran side by side. Targets: ratio_ts_vs_cpp <= 2.0 on a CPU
 * device (lavapipe), 1.3 on a GPU; ratio_batch_vs_cpp <= 1.3; record_overhead <= 1.1. Beside them, for reference,
 * `ratio_native_floor_vs_cpp` (native_floor / cpp_inprocess: crossing into the addon twice a pair, before any
 * TypeScript) and `ratio_ts_vs_native_floor` (what vkmem's TypeScript adds over that floor).
 *
 * Options: see {@link USAGE}. `--cpp-binary PATH` uses a prebuilt C++ program as it is (the GPU machine has no
 * compiler); without it the program is built into build/bench/allocator_bench when missing or older than its
 * sources.
 * @module
 */
import { rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import {
  createAllocator,
  createContext,
  MemoryUsage,
  nvk,
  VK_BUFFER_USAGE_TRANSFER_DST_BIT,
  VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
  VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
  type Allocator,
  type Context,
} from "../engine/index.js";
import { encodeAllocationOptions } from "../engine/memory/usage.js";
import { native, oracleNative, scratch, setAllocatorAddon, Slot, type NativeOracles } from "../engine/native.js";
import {
  calibrate,
  describeDevice,
  describeHost,
  formatNs,
  intFlag,
  layersFromEnvironment,
  measure,
  median,
  parseFlags,
  printTable,
  readTextOrNull,
  repoRoot,
  round,
  summarize,
  UsageError,
  writeResults,
  type Measurement,
} from "./lib.js";
import { cppBinary, physicalDeviceIndex, runJsonLines, type CppBinary, type CppProgram } from "./cpp-program.js";

export const description =
  "100,000 createBuffer + destroyBuffer pairs (256 B - 64 KiB): vkmem TS API vs the same loop in C++ on VMA vs raw nvk";

export const USAGE = `usage: npm run bench -- allocator [options]
  --iterations N        pairs per repetition for ts and cpp (default 100000)
  --repetitions N       repetitions of each loop; the median is reported (default 7)
  --warmup N            unmeasured pairs before the repetitions (default 10000)
  --raw-iterations N    pairs per repetition of the raw nvk loop (default: calibrated to ~2 s, at most 10000)
  --cpp-binary PATH     use this prebuilt C++ program as is (never rebuilt); default build/bench/allocator_bench,
                        built with g++ when missing or older than its sources
  --no-cpp              skip the C++ loop
  --no-raw              skip the raw nvk loop`;

const FLAGS = {
  "--iterations": "value",
  "--repetitions": "value",
  "--warmup": "value",
  "--raw-iterations": "value",
  "--cpp-binary": "value",
  "--no-cpp": "boolean",
  "--no-raw": "boolean",
} as const;

/** The targets of the spec (issue 14: ts/cpp in one process, 2.0 on a CPU device, 1.3 on a GPU). */
const TARGET_RATIO_TS_VS_CPP_CPU = 2.0;
const TARGET_RATIO_TS_VS_CPP_GPU = 1.3;
const TARGET_RATIO_BATCH_VS_CPP = 1.3;
/** Buffers per createBuffers call in the batch loop. */
const BATCH = 64;
const TARGET_SPEEDUP_VS_RAW = 10;
/** Issue 15: the same loop on an allocator that records a trace, over the same loop not recording. */
const TARGET_RECORD_OVERHEAD = 1.1;

const BUFFER_USAGE = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;

/**
 * Size of buffer i of a run: 256 B << (i mod 9), so 256 B, 512 B, ..., 64 KiB, repeating. The C++ program has the
 * same function (SizeAt); change both together.
 */
export function allocatorBenchSize(i: number): number {
  return 256 << (i % 9);
}

/** The C++ program: the addon's optimisation and NDEBUG, VMA's header and vkmem's configuration. */
const CPP_PROGRAM: CppProgram = {
  bench: "allocator",
  sources: ["bench/native/allocator_bench.cpp"],
  inputs: ["bench/native/allocator_bench.cpp", "native/vma_config.h", "vendor/vma/include/vk_mem_alloc.h"],
  binary: "build/bench/allocator_bench",
  flags: ["-O2", "-DNDEBUG", "-std=c++17", "-Inative", "-Ivendor/vma/include"],
};

interface CppRun {
  measurement: Measurement;
  deviceName: string;
  vmaFlags: number;
  vmaAsserts: number;
}

/** Runs the C++ program with the context's device choices and parses its JSON lines. */
function runCpp(
  binary: string,
  context: Context,
  allocator: Allocator,
  o: { iterations: number; repetitions: number; warmup: number },
): CppRun {
  const features = Object.entries(context.features)
    .filter(([name, on]) => on === true && ["memoryPriority", "bufferDeviceAddress", "maintenance4"].includes(name))
    .map(([name]) => name);
  const args = [
    "--iterations",
    String(o.iterations),
    "--repetitions",
    String(o.repetitions),
    "--warmup",
    String(o.warmup),
    "--device-index",
    String(physicalDeviceIndex(context)),
    "--api-version",
    String(context.apiVersion),
    "--vma-flags",
    String(allocator.flags),
    "--extensions",
    [...context.enabledDeviceExtensions].join(","),
    "--features",
    features.join(","),
  ];
  let deviceName = "";
  let vmaFlags = 0;
  let vmaAsserts = 0;
  const samples: number[] = [];
  for (const msg of runJsonLines("allocator", binary, args)) {
    if (msg.type === "device") {
      deviceName = String(msg.name);
      vmaFlags = Number(msg.vmaFlags);
    } else if (msg.type === "sample") samples.push(Number(msg.ns_per_pair));
    else if (msg.type === "done") vmaAsserts = Number(msg.vmaAsserts);
  }
  if (samples.length === 0) throw new Error(`${binary} printed no samples`);
  return { measurement: summarize(samples, o.iterations, o.warmup), deviceName, vmaFlags, vmaAsserts };
}

/** The loop through vkmem's public API. */
function tsLoop(allocator: Allocator): (n: number) => void {
  return (n) => {
    for (let i = 0; i < n; i++) {
      const { buffer, allocation } = allocator.createBuffer(
        { size: allocatorBenchSize(i), usage: BUFFER_USAGE },
        { usage: MemoryUsage.GpuOnly },
      );
      allocator.destroyBuffer(buffer, allocation);
    }
  };
}

/**
 * The same loop in C++ on the same allocator, in this process (the oracles build's benchBufferPairs): pairs, or with
 * `batch` the batch loop's pattern (`batch` creations, then their destructions).
 */
function cppLoop(oracles: NativeOracles, allocator: Allocator, batch = 1): (n: number) => void {
  return (n) => {
    oracles.benchBufferPairs(allocator._handle, n, BUFFER_USAGE, MemoryUsage.GpuOnly, batch);
  };
}

/**
 * The native floor: the addon's own createBuffer and freeAllocation called straight from JS on the same allocator,
 * the description encoded once per chunk and only its size written per pair. What any binding that crosses into
 * native code once per VMA call pays (Node-API's entry and exit, the addon's checks, slot table and outputs, VMA
 * itself), with no TS argument checked and no object made: the least a pair of calls from JS can cost, so that
 * `ratio_ts_vs_cpp` reads against it (ts = native floor + vkmem's TypeScript).
 */
function nativeFloorLoop(allocator: Allocator): (n: number) => void {
  const addon = allocator._native;
  const h = allocator._handle;
  return (n) => {
    allocator._encodeBuffer({ size: allocatorBenchSize(0), usage: BUFFER_USAGE }, "bench", "bufferInfo");
    encodeAllocationOptions({ usage: MemoryUsage.GpuOnly }, "bench", "allocationOptions", allocator);
    for (let i = 0; i < n; i++) {
      scratch[Slot.In0] = allocatorBenchSize(i);
      const r = addon.createBuffer(h);
      if (r !== 0) throw new Error(`the addon's createBuffer failed with VkResult ${r}`);
      addon.freeAllocation(scratch[Slot.OutAllocation]!);
    }
  };
}

/** Batches of {@link BATCH}: createBuffers of descriptions made once (a level's list), then destroyBuffers. */
function batchLoop(allocator: Allocator): (n: number) => void {
  const descriptions = Array.from({ length: BATCH }, (_, i) => ({ size: allocatorBenchSize(i), usage: BUFFER_USAGE }));
  const options = { usage: MemoryUsage.GpuOnly };
  return (n) => {
    for (let done = 0; done < n; done += BATCH)
      allocator.destroyBuffers(allocator.createBuffers(descriptions, options));
  };
}

interface Rounds {
  /** Ns per pair of each loop in each round (all its slices together), by loop name. */
  samples: Record<string, number[]>;
  /** Ns per pair of each loop in each slice, in the order they ran: slice i of every loop ran side by side. */
  slices: Record<string, number[]>;
}

/**
 * Slices a round is cut into. The ratios pair slices of a few milliseconds that ran next to each other, so that the
 * machine's changing speed (other tenants of a shared VM, which moved whole 100,000-pair chunks by 20-30% from one
 * to the next) cancels out: with whole chunks paired, record_overhead read 1.08-1.33 in five runs of the same build.
 */
const SLICES = 10;

/**
 * The order of the loops in slice `slice`: a permutation drawn afresh for each slice (a fixed seed, so every run
 * draws the same ones). A fixed order, even rotated, gives each loop the same predecessor every time, and a loop
 * runs faster right after another run of its own code (the JIT's code and the branch predictors still warm): on
 * lavapipe the record loop, which always followed the C++ batch loop, read 1.02 over the ts loop, which always
 * followed it, with recording off on both (six runs, 1.00-1.04); drawn orders read 0.99 (0.98-1.01).
 */
function sliceOrder(count: number, slice: number): number[] {
  const order = Array.from({ length: count }, (_, k) => k);
  let seed = (Math.imul(slice + 1, 2654435761) ^ 0x5bd1e995) >>> 0;
  for (let k = count - 1; k > 0; k--) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const j = (seed >>> 8) % (k + 1);
    [order[k], order[j]] = [order[j]!, order[k]!];
  }
  return order;
}

/**
 * `rounds` rounds of one chunk of `iterations` pairs of every loop, each chunk run as {@link SLICES} slices
 * interleaved with the other loops' (in an order drawn for each slice: {@link sliceOrder}); warm-up chunks first.
 */
function sideBySide(
  loops: [string, (n: number) => void][],
  iterations: number,
  rounds: number,
  warmup: number,
): Rounds {
  for (const [, loop] of loops) loop(warmup);
  const samples: Record<string, number[]> = Object.fromEntries(loops.map(([name]) => [name, [] as number[]]));
  const slices: Record<string, number[]> = Object.fromEntries(loops.map(([name]) => [name, [] as number[]]));
  const count = Math.max(1, Math.min(SLICES, iterations));
  const perSlice = Math.floor(iterations / count);
  for (let r = 0; r < rounds; r++) {
    const roundNs = new Map<string, number>();
    for (let s = 0; s < count; s++) {
      // The last slice takes the remainder, so that a round is exactly `iterations` pairs.
      const n = s === count - 1 ? iterations - perSlice * (count - 1) : perSlice;
      const order = sliceOrder(loops.length, r * count + s);
      for (let k = 0; k < loops.length; k++) {
        const [name, loop] = loops[order[k]!]!;
        const t0 = process.hrtime.bigint();
        loop(n);
        const ns = Number(process.hrtime.bigint() - t0);
        slices[name]!.push(ns / n);
        roundNs.set(name, (roundNs.get(name) ?? 0) + ns);
      }
    }
    for (const [name] of loops) samples[name]!.push(roundNs.get(name)! / iterations);
  }
  return { samples, slices };
}

/** The median over slices (or rounds) of a / b. */
function medianRatio(a: number[], b: number[]): number {
  return median(a.map((x, i) => x / b[i]!));
}

/** The raw Vulkan loop through nvk: one VkDeviceMemory per buffer. */
function rawLoop(context: Context): (n: number) => void {
  const device = context.device;
  const types = context.memoryProperties.types;
  const createInfo = new nvk.VkBufferCreateInfo({ size: 256, usage: BUFFER_USAGE, sharingMode: 0 });
  const requirements = new nvk.VkMemoryRequirements();
  const allocateInfo = new nvk.VkMemoryAllocateInfo();
  const fail = (what: string, result: number): never => {
    throw new Error(`${what} failed with VkResult ${result}`);
  };
  const memoryTypeFor = (bits: number): number => {
    for (let t = 0; t < types.length; t++) {
      if ((bits & (1 << t)) !== 0 && (types[t].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) !== 0) return t;
    }
    for (let t = 0; t < types.length; t++) if ((bits & (1 << t)) !== 0) return t;
    return fail("choosing a memory type", -2);
  };
  return (n) => {
    for (let i = 0; i < n; i++) {
      createInfo.size = allocatorBenchSize(i);
      const buffer = new nvk.VkBuffer();
      let r = nvk.vkCreateBuffer(device, createInfo, null, buffer);
      if (r !== 0) fail("vkCreateBuffer", r);
      nvk.vkGetBufferMemoryRequirements(device, buffer, requirements);
      allocateInfo.allocationSize = requirements.size;
      allocateInfo.memoryTypeIndex = memoryTypeFor(requirements.memoryTypeBits);
      const memory = new nvk.VkDeviceMemory();
      r = nvk.vkAllocateMemory(device, allocateInfo, null, memory);
      if (r !== 0) fail("vkAllocateMemory", r);
      r = nvk.vkBindBufferMemory(device, buffer, memory, 0);
      if (r !== 0) fail("vkBindBufferMemory", r);
      nvk.vkDestroyBuffer(device, buffer, null);
      nvk.vkFreeMemory(device, memory, null);
    }
  };
}

/** Runs the benchmark: `argv` are the arguments after `allocator`. */
export async function main(argv: readonly string[]): Promise<void> {
  const flags = parseFlags(argv, FLAGS, USAGE);
  const iterations = intFlag(flags, "--iterations", 100_000, USAGE);
  const repetitions = intFlag(flags, "--repetitions", 7, USAGE);
  const warmup = intFlag(flags, "--warmup", 10_000, USAGE);
  const rawFixed = flags.has("--raw-iterations") ? intFlag(flags, "--raw-iterations", 1, USAGE) : undefined;
  const explicitBinary = flags.get("--cpp-binary");
  if (explicitBinary === true) throw new UsageError(`--cpp-binary wants a path\n${USAGE}`);
  const root = repoRoot();
  const layers = layersFromEnvironment();
  if (layers.length > 0)
    console.warn(
      `bench allocator: warning: the environment enables Vulkan layers (${layers.join(", ")}): numbers will be off`,
    );

  const context = createContext({ applicationName: "vkmem bench allocator", validation: false });
  let allocator: Allocator | undefined;
  try {
    // On the oracles build: its benchBufferPairs runs the C++ loop on this very allocator (see the module comment).
    const oracles = oracleNative();
    setAllocatorAddon(oracles);
    try {
      allocator = createAllocator(context, { label: "bench" });
    } finally {
      setAllocatorAddon(null);
    }
    const device = describeDevice(context);
    console.log(
      `device: ${device.name} (${device.type}, Vulkan ${device.apiVersion}); extensions: ${device.enabledDeviceExtensions.join(" ") || "none"}`,
    );
    console.log(
      `${iterations} pairs x ${repetitions} repetitions after ${warmup} warm-up pairs; sizes 256 B - 64 KiB\n`,
    );

    // C++ first: it is a separate process, and a failure to build it shows before the long loops.
    let cpp: CppRun | null = null;
    let cppInfo: CppBinary | null = null;
    let cppError: string | null = null;
    if (!flags.has("--no-cpp")) {
      try {
        cppInfo = cppBinary(root, CPP_PROGRAM, explicitBinary);
        console.log(`cpp:     ${relative(process.cwd(), cppInfo.path) || cppInfo.path} (${cppInfo.state})`);
        cpp = runCpp(cppInfo.path, context, allocator, { iterations, repetitions, warmup });
        if (cpp.deviceName !== context.deviceName) {
          console.warn(
            `bench allocator: warning: the C++ program ran on '${cpp.deviceName}', the TS side on '${context.deviceName}'`,
          );
        }
        console.log(
          `cpp:     median ${formatNs(cpp.measurement.median)} per pair  [${cpp.measurement.samples.map((s) => s.toFixed(0)).join(" ")}]`,
        );
      } catch (error) {
        cppError = error instanceof Error ? error.message : String(error);
        console.warn(`bench allocator: the C++ loop did not run: ${cppError}`);
      }
    }

    // The loops side by side: ts, the same loop in C++ on the same allocator, batches, and ts while recording.
    const traceFile = join(tmpdir(), `vkmem-bench-${process.pid}.vkmtrace`);
    let traceBytes = 0;
    setAllocatorAddon(oracles);
    const recording = (() => {
      try {
        return createAllocator(context, { label: "bench recording", record: { file: traceFile } });
      } finally {
        setAllocatorAddon(null);
      }
    })();
    let rounds: Rounds;
    try {
      rounds = sideBySide(
        [
          ["ts", tsLoop(allocator)],
          ["cpp_inprocess", cppLoop(oracles, allocator)],
          ["native_floor", nativeFloorLoop(allocator)],
          ["batch", batchLoop(allocator)],
          ["cpp_batch_inprocess", cppLoop(oracles, allocator, BATCH)],
          ["record", tsLoop(recording)],
        ],
        iterations,
        repetitions,
        warmup,
      );
    } finally {
      recording.destroy();
      traceBytes = statSync(traceFile).size;
      rmSync(traceFile, { force: true });
    }
    const sample = (name: string): Measurement => summarize(rounds.samples[name]!, iterations, warmup);
    const ts = sample("ts");
    const inProcess = sample("cpp_inprocess");
    const floor = sample("native_floor");
    const floorRatio = medianRatio(rounds.slices.native_floor!, rounds.slices.cpp_inprocess!);
    const tsVsFloor = medianRatio(rounds.slices.ts!, rounds.slices.native_floor!);
    const batch = sample("batch");
    const recorded = sample("record");
    const ratio = medianRatio(rounds.slices.ts!, rounds.slices.cpp_inprocess!);
    const batchRatio = medianRatio(rounds.slices.batch!, rounds.slices.cpp_batch_inprocess!);
    const batchVsPairs = medianRatio(rounds.slices.batch!, rounds.slices.cpp_inprocess!);
    const cppBatch = sample("cpp_batch_inprocess");
    const recordOverhead = medianRatio(rounds.slices.record!, rounds.slices.ts!);
    const leftAlive = allocator.allocationCount;
    const targetRatio = context.deviceType === "cpu" ? TARGET_RATIO_TS_VS_CPP_CPU : TARGET_RATIO_TS_VS_CPP_GPU;
    for (const [name, m] of [
      ["ts", ts],
      ["cpp in-process", inProcess],
      ["native floor", floor],
      ["batch", batch],
      ["record", recorded],
    ] as const) {
      console.log(
        `${`${name}:`.padEnd(16)} median ${formatNs(m.median)} per pair  [${m.samples.map((x) => x.toFixed(0)).join(" ")}]`,
      );
    }
    console.log(`trace ${(traceBytes / 2 ** 20).toFixed(1)} MiB`);

    let raw: Measurement | null = null;
    if (!flags.has("--no-raw")) {
      const loop = rawLoop(context);
      const rawIterations = rawFixed ?? calibrate(loop, 2e9, 20, 10_000);
      raw = measure(loop, { iterations: rawIterations, repetitions, warmup: Math.min(1000, rawIterations) });
      console.log(
        `raw nvk: median ${formatNs(raw.median)} per pair over ${rawIterations} pairs  [${raw.samples.map((s) => s.toFixed(0)).join(" ")}]`,
      );
    }

    const cppNs = cpp?.measurement.median ?? null;
    const rawNs = raw?.median ?? null;
    const programRatio = cppNs !== null ? ts.median / cppNs : null;
    const speedup = rawNs !== null ? rawNs / ts.median : null;
    const met = (ok: boolean | null) => (ok === null ? "n/a" : ok ? "yes" : "NO");

    console.log("");
    printTable(
      ["loop", "median/pair", "min/pair", "max/pair", "pairs x reps"],
      [
        [
          "vkmem TS API (createBuffer+destroyBuffer)",
          formatNs(ts.median),
          formatNs(ts.min),
          formatNs(ts.max),
          `${ts.iterations} x ${ts.repetitions}`,
        ],
        [
          "C++ on VMA, same allocator, in this process (cpp_inprocess)",
          formatNs(inProcess.median),
          formatNs(inProcess.min),
          formatNs(inProcess.max),
          `${inProcess.iterations} x ${inProcess.repetitions}`,
        ],
        [
          "the addon's createBuffer + freeAllocation from JS, encoded once (native_floor)",
          formatNs(floor.median),
          formatNs(floor.min),
          formatNs(floor.max),
          `${floor.iterations} x ${floor.repetitions}`,
        ],
        [
          `vkmem createBuffers(${BATCH}) + destroyBuffers, per buffer`,
          formatNs(batch.median),
          formatNs(batch.min),
          formatNs(batch.max),
          `${batch.iterations} x ${batch.repetitions}`,
        ],
        [
          `C++ on VMA, ${BATCH} creations then their destructions, same allocator (cpp_batch_inprocess)`,
          formatNs(cppBatch.median),
          formatNs(cppBatch.min),
          formatNs(cppBatch.max),
          `${cppBatch.iterations} x ${cppBatch.repetitions}`,
        ],
        [
          "vkmem TS API, recording a trace",
          formatNs(recorded.median),
          formatNs(recorded.min),
          formatNs(recorded.max),
          `${recorded.iterations} x ${recorded.repetitions}`,
        ],
        cpp
          ? [
              "C++ program on VMA (separate process)",
              formatNs(cpp.measurement.median),
              formatNs(cpp.measurement.min),
              formatNs(cpp.measurement.max),
              `${cpp.measurement.iterations} x ${cpp.measurement.repetitions}`,
            ]
          : ["C++ program on VMA (separate process)", "n/a", "n/a", "n/a", ""],
        raw
          ? [
              "raw nvk (vkCreateBuffer+vkAllocateMemory+bind, destroy+free)",
              formatNs(raw.median),
              formatNs(raw.min),
              formatNs(raw.max),
              `${raw.iterations} x ${raw.repetitions}`,
            ]
          : ["raw nvk (vkCreateBuffer+vkAllocateMemory+bind, destroy+free)", "n/a", "n/a", "n/a", ""],
      ],
    );
    console.log("");
    printTable(
      ["ratio", "value", "target", "met"],
      [
        [
          "ts / cpp in-process (ratio_ts_vs_cpp)",
          `${ratio.toFixed(2)}x`,
          `<= ${targetRatio}x`,
          met(ratio <= targetRatio),
        ],
        [
          "  native floor / cpp in-process (ratio_native_floor_vs_cpp: the calls from JS alone)",
          `${floorRatio.toFixed(2)}x`,
          "",
          "",
        ],
        ["  ts / native floor (ratio_ts_vs_native_floor: vkmem's TypeScript)", `${tsVsFloor.toFixed(2)}x`, "", ""],
        [
          `batch / the same ${BATCH}-at-a-time loop in C++ (ratio_batch_vs_cpp)`,
          `${batchRatio.toFixed(2)}x`,
          `<= ${TARGET_RATIO_BATCH_VS_CPP}x`,
          met(batchRatio <= TARGET_RATIO_BATCH_VS_CPP),
        ],
        ["batch / C++ pairs (ratio_batch_vs_cpp_pairs, for reference)", `${batchVsPairs.toFixed(2)}x`, "", ""],
        [
          "ts / C++ program (ratio_ts_vs_cpp_program, for reference)",
          programRatio === null ? "n/a" : `${programRatio.toFixed(2)}x`,
          "",
          "",
        ],
        [
          "recording / ts (record_overhead)",
          `${recordOverhead.toFixed(2)}x`,
          `<= ${TARGET_RECORD_OVERHEAD}x`,
          met(recordOverhead <= TARGET_RECORD_OVERHEAD),
        ],
        [
          "raw nvk / ts (speedup_vs_raw_nvk)",
          speedup === null ? "n/a" : `${speedup.toFixed(1)}x`,
          `>= ${TARGET_SPEEDUP_VS_RAW}x`,
          met(speedup === null ? null : speedup >= TARGET_SPEEDUP_VS_RAW),
        ],
      ],
    );
    const loops: [string, Measurement | null][] = [
      ["ts", ts],
      ["cpp", cpp?.measurement ?? null],
      ["raw nvk", raw],
    ];
    const noisy = loops.filter(([, m]) => m !== null && (m.max - m.min) / m.median > 0.25).map(([name]) => name);
    if (noisy.length > 0) {
      console.warn(
        `bench allocator: note: repetitions of ${noisy.join(", ")} spread over more than 25% of the median: the machine was busy; rerun when it is quiet`,
      );
    }
    if (leftAlive !== 0) console.warn(`bench allocator: warning: ${leftAlive} allocation(s) alive after the TS loop`);
    if (cpp !== null && cpp.vmaAsserts > 0)
      console.warn(`bench allocator: warning: VMA checks failed ${cpp.vmaAsserts} time(s) in the C++ program`);

    const version = native.version();
    const file = writeResults("allocator", {
      benchmark: "allocator",
      timestamp: new Date().toISOString(),
      ts_ns_per_pair: round(ts.median),
      cpp_inprocess_ns_per_pair: round(inProcess.median),
      ratio_ts_vs_cpp: round(ratio, 3),
      native_floor_ns_per_pair: round(floor.median),
      ratio_native_floor_vs_cpp: round(floorRatio, 3),
      ratio_ts_vs_native_floor: round(tsVsFloor, 3),
      batch_ns_per_buffer: round(batch.median),
      batch_size: BATCH,
      ratio_batch_vs_cpp: round(batchRatio, 3),
      cpp_batch_inprocess_ns_per_buffer: round(cppBatch.median),
      ratio_batch_vs_cpp_pairs: round(batchVsPairs, 3),
      cpp_ns_per_pair: round(cppNs),
      ratio_ts_vs_cpp_program: round(programRatio, 3),
      raw_nvk_ns_per_pair: round(rawNs),
      speedup_vs_raw_nvk: round(speedup, 2),
      record_ns_per_pair: round(recorded.median),
      record_overhead: round(recordOverhead, 3),
      record_trace_bytes: traceBytes,
      device: context.deviceName,
      targets: {
        ratio_ts_vs_cpp_max: targetRatio,
        ratio_batch_vs_cpp_max: TARGET_RATIO_BATCH_VS_CPP,
        speedup_vs_raw_nvk_min: TARGET_SPEEDUP_VS_RAW,
        record_overhead_max: TARGET_RECORD_OVERHEAD,
      },
      met: {
        ratio_ts_vs_cpp: ratio <= targetRatio,
        ratio_batch_vs_cpp: batchRatio <= TARGET_RATIO_BATCH_VS_CPP,
        speedup_vs_raw_nvk: speedup === null ? null : speedup >= TARGET_SPEEDUP_VS_RAW,
        record_overhead: recordOverhead <= TARGET_RECORD_OVERHEAD,
      },
      iterations,
      repetitions,
      warmup,
      raw_nvk_iterations: raw?.iterations ?? null,
      statistic: "median over rounds of ns per pair; ratios: median over rounds of the ratio of side-by-side chunks",
      workload: {
        sizes:
          "256 << (i % 9) bytes for pair i of each run (256 B .. 64 KiB), each buffer destroyed right after creation",
        buffer_usage: "VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT",
        memory_usage: "VMA_MEMORY_USAGE_GPU_ONLY (MemoryUsage.GpuOnly); raw nvk: first DEVICE_LOCAL type allowed",
      },
      samples: {
        ts_ns_per_pair: ts.samples.map((s) => round(s, 2)),
        cpp_inprocess_ns_per_pair: inProcess.samples.map((x) => round(x, 2)),
        native_floor_ns_per_pair: floor.samples.map((x) => round(x, 2)),
        batch_ns_per_buffer: batch.samples.map((x) => round(x, 2)),
        record_ns_per_pair: recorded.samples.map((x) => round(x, 2)),
        cpp_ns_per_pair: cpp?.measurement.samples ?? null,
        raw_nvk_ns_per_pair: raw?.samples.map((s) => round(s, 2)) ?? null,
      },
      node: process.version,
      vma: {
        version:
          version.vma === null ? null : `${version.vma >>> 22}.${(version.vma >>> 12) & 0x3ff}.${version.vma & 0xfff}`,
        package: readTextOrNull(join(root, "vendor/vma/VERSION.local")),
        vma_vulkan_version: version.vmaVulkanVersion,
        allocator_flags: allocator.flags,
      },
      cpp: {
        binary: cppInfo === null ? null : relative(root, cppInfo.path),
        state: cppInfo?.state ?? null,
        compile_command: cppInfo?.compileCommand ?? null,
        device: cpp?.deviceName ?? null,
        vma_flags: cpp?.vmaFlags ?? null,
        vma_asserts: cpp?.vmaAsserts ?? null,
        error: cppError,
      },
      device_info: device,
      host: describeHost(),
      validation_layers: layers.length > 0 ? layers : "off",
      nvk_js_checks: "on (nvk's default interfaces.js, as vkmem loads it)",
    });
    console.log(`\nwrote ${file}`);
  } finally {
    allocator?.destroy();
    context.destroy();
  }
}
