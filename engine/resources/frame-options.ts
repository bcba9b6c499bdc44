/**
 * The options of a {@link FrameManager} and of its `endFrame()`, and their checks.
 *
 * Every check runs before anything is created or recorded: a bad option throws a TypeError or RangeError naming
 * the option and showing the bad value, and leaves the manager (or the frame) as it was. Unknown members are
 * refused rather than ignored, so that a misspelt option is an error, not a silent default. The arguments of
 * createFrameManager are checked here too, before the manager creates anything: an allocator serves one manager.
 * @module
 */
import { DestroyedResourceError, InvalidStateError, describeValue } from "../errors.js";
import { isOptionsObject } from "../checks.js";
import type { Allocator } from "../memory/allocator.js";
import type { Context } from "../vulkan/context.js";
import { isNvkHandle, rawHandle, type NvkHandle } from "../vulkan/handles.js";
import { STAGE_ALL } from "../vulkan/vk.js";
import type { UploadRingOptions } from "./upload-ring.js";
import { checkInspectorOptions, type InspectorOptions } from "../report/inspector.js";
import { uploadThreadsOption } from "./upload-workers.js";

/** Options of {@link createFrameManager}. Every member is optional. */
export interface FrameManagerOptions {
  /** How many frames the CPU may record ahead of the GPU: 2 (the default) or 3. */
  framesInFlight?: number;
  /** A label for messages and Vulkan object names. */
  label?: string;
  /** The staging ring that uploads copy through (default 4 MiB, growing to 64 MiB). */
  stagingRing?: UploadRingOptions;
  /** The ring {@link FrameManager.allocateTransient} hands out (default 4 MiB, growing to 64 MiB). */
  transientRing?: UploadRingOptions;
  /** Record the allocator's calls and the frames into a trace file (see engine/resources/frame-recording.ts). */
  record?: { file: string };
  /**
   * Serve a live view of the allocator's memory on http://127.0.0.1:PORT/, updated at frame ends (see
   * engine/report/inspector.ts and engine/resources/frame-recording.ts); port 0 picks a free one
   * (`frames.inspector.url`). Closed by destroy() when this option started it.
   */
  inspector?: InspectorOptions;
  /**
   * Threads that copy large uploads (1 MiB and more) into the staging ring, the caller's included: 1 copies on the
   * calling thread only. Default: `VKMEM_UPLOAD_THREADS`, else min(8, cores - 1) (engine/resources/upload-workers.ts).
   */
  uploadThreads?: number;
  /**
   * Name the Vulkan objects of its buffers and textures after their labels (vkSetDebugUtilsObjectNameEXT), for the
   * validation layer and debuggers. Default: when the context has a debug-utils messenger (`validation: true`);
   * `true` for a tool attached otherwise (RenderDoc, Nsight). Naming costs a Vulkan call per object.
   */
  debugNames?: boolean;
  /**
   * Copy a frame's many small uploads into their buffers with one compute dispatch instead of a copy command per
   * buffer (engine/resources/scatter-copies.ts), where the device has bufferDeviceAddress and the main queue compute:
   * the manager's buffers then get SHADER_DEVICE_ADDRESS usage, and a small upload into a buffer no queue has used
   * stays on the main queue instead of taking a dedicated transfer queue (which has no compute). Default: on a GPU, not
   * on a CPU device (lavapipe runs the shader far slower than its copies); false keeps every copy a vkCmdCopyBuffer.
   */
  scatterUploads?: boolean;
}

/** Options of {@link FrameManager.endFrame}: the synchronization with presentation (or other queues). */
export interface EndFrameOptions {
  /** Semaphores the submission waits on (e.g. the swapchain's image-acquired semaphore). */
  waitSemaphores?: readonly NvkHandle[];
  /** One VkPipelineStageFlags per wait semaphore. Default: ALL_COMMANDS for each. */
  waitStages?: readonly number[];
  /** Semaphores the submission signals (e.g. render-finished, for vkQueuePresentKHR). */
  signalSemaphores?: readonly NvkHandle[];
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  "framesInFlight",
  "label",
  "stagingRing",
  "transientRing",
  "record",
  "inspector",
  "uploadThreads",
  "debugNames",
  "scatterUploads",
]);
const KNOWN_RING_OPTIONS: ReadonlySet<string> = new Set(["size", "maxSize", "policy", "memory"]);
const KNOWN_END_OPTIONS: ReadonlySet<string> = new Set(["waitSemaphores", "waitStages", "signalSemaphores"]);
const MiB = 1024 * 1024;

/** What {@link checkManagerArguments} makes of createFrameManager's arguments. @internal */
export interface ManagerSetup {
  readonly framesInFlight: number;
  /** The context's device, which the allocator shares. */
  readonly device: NvkHandle;
  readonly stagingRing: Required<UploadRingOptions>;
  readonly transientRing: Required<UploadRingOptions>;
  readonly uploadThreads: number;
}

/**
 * Checks createFrameManager's arguments (`op` names the call), in this order: their types and the options; that the
 * context and the allocator are alive and the allocator was made over the context's device; the ring options; and
 * that the allocator has no live manager yet, that is, no dependent that is an instance of `managerClass` (the
 * FrameManager class, passed in so that this module does not import it).
 *
 * The allocator's frame index is its manager's frame number, and lost allocations are judged by it: a second manager
 * would move it back and forth, and eviction would free what the other's frames in flight still use.
 * @throws TypeError / RangeError for a bad argument or option, or an allocator over another device.
 * @throws DestroyedResourceError when the context or the allocator is destroyed.
 * @throws InvalidStateError when the allocator already has a live FrameManager.
 * @internal
 */
export function checkManagerArguments(
  op: string,
  context: Context,
  allocator: Allocator,
  options: FrameManagerOptions,
  managerClass: abstract new (...args: never[]) => { readonly _lifetimeName: string },
): ManagerSetup {
  const framesInFlight = checkArgumentTypes(op, context, allocator, options);
  const device = context.device; // throws DestroyedResourceError for a destroyed context
  if (allocator._handle === 0) throw new DestroyedResourceError("Allocator", allocator.label, op);
  if (rawHandle(allocator.device) !== rawHandle(device)) {
    throw new TypeError(
      `${op}: allocator${allocator.label ? ` '${allocator.label}'` : ""} was made over another device than the context's`,
    );
  }
  const stagingRing = ringOptions(op, "stagingRing", options.stagingRing);
  const transientRing = ringOptions(op, "transientRing", options.transientRing);
  // The allocator's dependents (engine/lifetime.ts) hold its live manager, if any.
  const driver = allocator._dependents.list().find((d) => d instanceof managerClass) as
    { readonly _lifetimeName: string } | undefined;
  if (driver !== undefined) {
    throw new InvalidStateError(
      null,
      op,
      `allocator${allocator.label ? ` '${allocator.label}'` : ""} already has ${driver._lifetimeName}: one FrameManager per Allocator ` +
        "(its frame index, by which lost allocations are judged, is the manager's frame number); destroy that one first or make another allocator",
    );
  }
  const uploadThreads = uploadThreadsOption(op, options.uploadThreads);
  return { framesInFlight, device, stagingRing, transientRing, uploadThreads };
}

/** The types of createFrameManager's arguments and its options; returns `framesInFlight`, defaulted. */
function checkArgumentTypes(op: string, context: unknown, allocator: unknown, options: FrameManagerOptions): number {
  if (context === null || typeof context !== "object" || typeof (context as Context).submitAndWait !== "function") {
    throw new TypeError(`${op}: context must be a Context, got ${describeValue(context)}`);
  }
  if (
    allocator === null ||
    typeof allocator !== "object" ||
    typeof (allocator as Allocator).setCurrentFrameIndex !== "function"
  ) {
    throw new TypeError(`${op}: allocator must be an Allocator, got ${describeValue(allocator)}`);
  }
  if (!isOptionsObject(options)) {
    throw new TypeError(`${op}: options must be an object, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key))
      throw new TypeError(
        `${op}: unknown option '${key}' (value ${describeValue((options as Record<string, unknown>)[key])})`,
      );
  }
  if (options.record !== undefined) {
    const file = isOptionsObject(options.record) ? (options.record as { file?: unknown }).file : undefined;
    if (typeof file !== "string" || file.length === 0)
      throw new TypeError(
        `${op}: options.record must be { file: string } with a non-empty path, got ${describeValue(options.record)}`,
      );
  }
  checkInspectorOptions(op, options.inspector, describeValue);
  const framesInFlight = options.framesInFlight ?? 2;
  if (framesInFlight !== 2 && framesInFlight !== 3) {
    throw new RangeError(`${op}: option 'framesInFlight' must be 2 or 3, got ${describeValue(framesInFlight)}`);
  }
  if (options.label !== undefined && typeof options.label !== "string") {
    throw new TypeError(`${op}: option 'label' must be a string, got ${describeValue(options.label)}`);
  }
  if (options.debugNames !== undefined && typeof options.debugNames !== "boolean") {
    throw new TypeError(`${op}: option 'debugNames' must be a boolean, got ${describeValue(options.debugNames)}`);
  }
  if (options.scatterUploads !== undefined && typeof options.scatterUploads !== "boolean") {
    throw new TypeError(
      `${op}: option 'scatterUploads' must be a boolean, got ${describeValue(options.scatterUploads)}`,
    );
  }
  return framesInFlight;
}

/**
 * Checks the ring option `name` and completes it: 4 MiB, growing up to 64 MiB (or `size` when larger), policy grow,
 * memory device.
 * @throws TypeError / RangeError for a bad member.
 * @internal
 */
export function ringOptions(op: string, name: string, value: unknown): Required<UploadRingOptions> {
  if (value !== undefined && !isOptionsObject(value)) {
    throw new TypeError(`${op}: option '${name}' must be an object, got ${describeValue(value)}`);
  }
  const o = (value ?? {}) as UploadRingOptions;
  for (const key of Object.keys(o)) {
    if (!KNOWN_RING_OPTIONS.has(key))
      throw new TypeError(
        `${op}: unknown option '${name}.${key}' (value ${describeValue((o as Record<string, unknown>)[key])})`,
      );
  }
  const size = o.size ?? 4 * MiB;
  if (!Number.isSafeInteger(size) || size < 4096 || size > 2 ** 40)
    throw new RangeError(
      `${op}: option '${name}.size' must be an integer number of bytes of at least 4096, got ${describeValue(o.size)}`,
    );
  const maxSize = o.maxSize ?? Math.max(size, 64 * MiB);
  if (!Number.isSafeInteger(maxSize) || maxSize < size || maxSize > 2 ** 40)
    throw new RangeError(
      `${op}: option '${name}.maxSize' must be an integer of at least size (${size}), got ${describeValue(o.maxSize)}`,
    );
  const policy = o.policy ?? "grow";
  if (policy !== "grow" && policy !== "wait")
    throw new RangeError(`${op}: option '${name}.policy' must be "grow" or "wait", got ${describeValue(o.policy)}`);
  const memory = o.memory ?? "device";
  if (memory !== "device" && memory !== "host")
    throw new RangeError(`${op}: option '${name}.memory' must be "device" or "host", got ${describeValue(o.memory)}`);
  return { size, maxSize, policy, memory };
}

/**
 * What {@link endFrameSync} makes of EndFrameOptions: the semaphores' raw values (read once, for the checks and the
 * submission), and one stage mask per wait. @internal
 */
export interface EndFrameSync {
  readonly waits: readonly bigint[];
  readonly stages: readonly number[];
  readonly signals: readonly bigint[];
}

/**
 * Checks `endFrame()`'s options (`op` names the call in messages; `allocator` checks the stage bits against the
 * Vulkan version in use) and completes the wait stages (ALL_COMMANDS for each wait by default).
 * @throws TypeError / RangeError for bad options, naming the option and showing the value.
 * @internal
 */
export function endFrameSync(op: string, options: EndFrameOptions | undefined, allocator: Allocator): EndFrameSync {
  let waits: readonly bigint[] = [];
  let stages: readonly number[] | undefined;
  let signals: readonly bigint[] = [];
  if (options !== undefined) {
    if (!isOptionsObject(options)) {
      throw new TypeError(`${op}: options must be an object, got ${describeValue(options)}`);
    }
    for (const key of Object.keys(options)) {
      if (!KNOWN_END_OPTIONS.has(key))
        throw new TypeError(
          `${op}: unknown option '${key}' (value ${describeValue((options as Record<string, unknown>)[key])})`,
        );
    }
    const semaphores = (name: "waitSemaphores" | "signalSemaphores"): readonly bigint[] => {
      const list = options[name];
      if (list === undefined) return [];
      if (!Array.isArray(list) || !list.every((s) => isNvkHandle(s, "VkSemaphore"))) {
        throw new TypeError(
          `${op}: option '${name}' must be an array of nvk VkSemaphore handles, got ${describeValue(list)}`,
        );
      }
      // A semaphore object never created names VK_NULL_HANDLE, which a driver may crash on.
      const raw = list.map(rawHandle);
      const empty = raw.indexOf(0n);
      if (empty >= 0)
        throw new TypeError(`${op}: option '${name}[${empty}]' is VK_NULL_HANDLE (a VkSemaphore never created)`);
      return raw;
    };
    waits = semaphores("waitSemaphores");
    signals = semaphores("signalSemaphores");
    stages = options.waitStages;
    if (stages !== undefined) {
      if (!Array.isArray(stages) || !stages.every((s) => Number.isInteger(s) && s > 0 && s <= 0x7fffffff)) {
        throw new TypeError(
          `${op}: option 'waitStages' must be an array of non-zero VkPipelineStageFlags, got ${describeValue(stages)}`,
        );
      }
      if (stages.length !== waits.length) {
        throw new RangeError(
          `${op}: option 'waitStages' must have one entry per wait semaphore (${waits.length}), got ${describeValue(stages)}`,
        );
      }
      stages.forEach((s, i) => allocator._checkFlagBits(s, "pipelineStage", op, `option 'waitStages[${i}]'`));
    }
  }
  return { waits, stages: stages ?? waits.map(() => STAGE_ALL), signals };
}
