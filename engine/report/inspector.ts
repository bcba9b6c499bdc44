/**
 * The live inspector: `inspector: { port }` on createAllocator or createFrameManager serves the report page
 * (./html.ts) on http://127.0.0.1:PORT/, fed live: the page's model (./model.ts) grows by one position per update,
 * sent as a {@link LiveDelta} over server-sent events.
 *
 * Threads: the server runs in a worker thread (./inspector-worker.ts says why: a game loop need not yield to Node's
 * event loop). This side, on the game's thread, makes the model and its deltas; the worker only writes them out.
 *
 * Cost: with no page connected, a frame costs one Atomics.load and nothing else: no dump, no JSON, no model (the
 * model is dropped when the last page leaves, and a new page starts a new one). With pages connected, an update
 * (VMA's detailed dump, the delta and its JSON: time in the number of live allocations, about 15 ms for 500 and
 * 60 ms for 5,000 on lavapipe's machine) happens at most `maxUpdatesPerSecond` times a second (10 by default), at a
 * frame's end, and the next one waits at least nine times as long as updates take on average (so they take about a
 * tenth of the program's thread at most); frames between two updates add their uploads and evictions to the next.
 * When no frame comes (a program that is idle, or an allocator used without frames), the clock adds a position once
 * a second while a page is connected, if Node's event loop runs.
 *
 * Lifetime: the allocator (or FrameManager) that started it closes it in its destroy(); close() ends the worker,
 * with the server and every connection. The worker is unref'd: an inspector never keeps a process alive by itself.
 * @module
 */
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import type { StatsDump } from "../memory/dump.js";
import { emptyModel } from "./model.js";
import { renderReportHtml } from "./html.js";
import { INSPECTOR_WORKER_SOURCE, SHARED } from "./inspector-worker.js";
import { LiveModel, type LiveCounts } from "./live-model.js";

/** The `inspector` option of createAllocator and createFrameManager. */
export interface InspectorOptions {
  /** The TCP port on 127.0.0.1 (only): 1 to 65535, or 0 for a free one (read the URL from `inspector.url`). */
  port: number;
  /** Updates sent to pages at most this many times a second: 1 to 120 (default 10). */
  maxUpdatesPerSecond?: number;
}

/** What the inspector reads of the allocator it shows. @internal */
export interface InspectedAllocator {
  readonly label: string | undefined;
  readonly deviceName: string;
  /** VMA's detailed dump now. */
  dump(): StatsDump;
}

const STARTUP_TIMEOUT_MS = 15_000;
const IDLE_UPDATE_MS = 1000;

/**
 * A live inspector serving one allocator's memory. Started by createAllocator or createFrameManager with their
 * `inspector` option (read it as `allocator.inspector`); closed by the destroy() of whichever started it.
 */
export class Inspector {
  /** The page's address, e.g. "http://127.0.0.1:41234/". */
  readonly url: string;
  /** The port it listens on (the one picked, when asked for 0). */
  readonly port: number;
  readonly #worker: Worker;
  readonly #shared: Int32Array;
  readonly #source: InspectedAllocator;
  readonly #intervalMs: number;
  readonly #start = performance.now();
  #live: LiveModel | null = null;
  #generation = 0;
  #lastUpdate = -Infinity;
  /** The least time between two updates: the rate's interval, or more after a slow update. */
  #gapMs = 0;
  /** What updates take, in ms (an exponential moving average). */
  #costMs = 0;
  #updates = 0;
  /** Whether a FrameManager reports frame ends (then the allocator's frame index is not a frame of its own). */
  #framesFromManager = false;
  #counts: LiveCounts = { uploadBytes: 0, evictions: 0, evictedBytes: 0, lost: 0, failedAllocations: 0 };
  #idle: ReturnType<typeof setInterval> | null = null;
  #closed = false;

  private constructor(source: InspectedAllocator, worker: Worker, shared: Int32Array, port: number, rate: number) {
    this.#source = source;
    this.#worker = worker;
    this.#shared = shared;
    this.port = port;
    this.url = `http://127.0.0.1:${port}/`;
    this.#intervalMs = 1000 / rate;
    this.#gapMs = this.#intervalMs;
    worker.on("message", (m: unknown) => {
      if (m === "client") this.#clientCame();
      else if (m === "gone") this.#allGone();
    });
    worker.on("error", () => this.close());
    worker.unref();
  }

  /**
   * Starts the server and waits (blocking, a few tens of milliseconds) until it listens, so {@link url} is known
   * when this returns. `options` must have been checked (checkInspectorOptions).
   * @throws Error naming `op`, the address and the system's reason when it cannot listen (a port in use, say).
   * @internal Use the `inspector` option of createAllocator or createFrameManager.
   */
  static start(op: string, options: InspectorOptions, source: InspectedAllocator): Inspector {
    const shared = new Int32Array(new SharedArrayBuffer(SHARED.length * 4));
    const { port1, port2 } = new MessageChannel();
    const html = renderReportHtml(emptyModel("trace", titleOf(source)), { sourceName: "live", live: true });
    const worker = new Worker(INSPECTOR_WORKER_SOURCE, {
      eval: true,
      workerData: { html, port: options.port, host: "127.0.0.1", shared, reply: port2 },
      transferList: [port2],
      stdout: false,
      stderr: false,
    });
    const started = Atomics.wait(shared, SHARED.state, 0, STARTUP_TIMEOUT_MS);
    const state = Atomics.load(shared, SHARED.state);
    if (state !== 1) {
      const why = receiveMessageOnPort(port1)?.message as { message: string } | undefined;
      port1.close();
      void worker.terminate();
      throw new Error(
        `${op}: options.inspector: cannot listen on 127.0.0.1:${options.port}: ${
          why?.message ??
          (started === "timed-out" ? `the server did not start within ${STARTUP_TIMEOUT_MS} ms` : "unknown")
        }`,
      );
    }
    port1.close();
    return new Inspector(source, worker, shared, Atomics.load(shared, SHARED.port), options.maxUpdatesPerSecond ?? 10);
  }

  /** Pages connected now. */
  get clients(): number {
    return this.#closed ? 0 : Atomics.load(this.#shared, SHARED.clients);
  }

  /** Updates sent since it started (positions added to a live model). */
  get updates(): number {
    return this.#updates;
  }

  /**
   * @internal Milliseconds until a frame's end may update again (0 when the next frame end would): the wait between
   * updates is at least nine times their cost, which a test that wants one update per frame has to wait out.
   */
  get _msUntilNextUpdate(): number {
    return Math.max(0, this.#lastUpdate + this.#gapMs - performance.now());
  }

  /** Whether {@link close} ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** @internal A FrameManager reports its frame ends: the allocator's frame index no longer makes positions. */
  _useFrameEnds(): void {
    this.#framesFromManager = true;
  }

  /** @internal A FrameManager ended frame `frame`, having uploaded `uploadedBytes` in it. */
  _frameEnded(frame: number, uploadedBytes: number): void {
    if (this.#closed || Atomics.load(this.#shared, SHARED.clients) === 0) return;
    this.#counts.uploadBytes += uploadedBytes;
    this.#maybeUpdate(`frame ${frame}`, frame);
  }

  /** @internal The allocator's frame index was set (a frame of its own when no FrameManager reports frames). */
  _frameIndexSet(frame: number): void {
    if (this.#closed || this.#framesFromManager || Atomics.load(this.#shared, SHARED.clients) === 0) return;
    this.#maybeUpdate(`frame ${frame}`, frame);
  }

  /** @internal A streamer evicted `bytes` (counted only while a page looks). */
  _evicted(bytes: number): void {
    if (this.#closed || Atomics.load(this.#shared, SHARED.clients) === 0) return;
    this.#counts.evictions++;
    this.#counts.evictedBytes += bytes;
  }

  /** @internal An allocation was made lost (counted only while a page looks). */
  _lost(): void {
    if (this.#closed || Atomics.load(this.#shared, SHARED.clients) === 0) return;
    this.#counts.lost++;
  }

  /**
   * A note for the timeline at the next update ("level 2 loaded"); dropped when no page is connected.
   * @throws TypeError when `text` is not a string.
   */
  note(text: string): void {
    if (typeof text !== "string") throw new TypeError(`Inspector.note: text must be a string, got ${typeof text}`);
    if (this.#closed || Atomics.load(this.#shared, SHARED.clients) === 0) return;
    this.#live ??= new LiveModel(this.#title());
    this.#live.note(text);
  }

  /** Ends the server and its connections. A second call does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#idle !== null) clearInterval(this.#idle);
    this.#idle = null;
    this.#live = null;
    void this.#worker.terminate();
  }

  #title(): string {
    return titleOf(this.#source);
  }

  #maybeUpdate(label: string, frame: number | null): void {
    const now = performance.now();
    const newPage = Atomics.load(this.#shared, SHARED.generation) !== this.#generation;
    if (!newPage && now - this.#lastUpdate < this.#gapMs) return;
    this.#update(label, frame, now);
  }

  #update(label: string, frame: number | null, now: number): void {
    const live = (this.#live ??= new LiveModel(this.#title()));
    const position = live.model.frames.length;
    const delta = live.add(this.#source.dump(), label, frame, Math.round((now - this.#start) * 1000), this.#counts);
    delta.notes = live.notesAt(position);
    this.#counts = { uploadBytes: 0, evictions: 0, evictedBytes: 0, lost: 0, failedAllocations: 0 };
    this.#lastUpdate = now;
    // An update costs time in the number of live allocations: the next one waits nine times as long as updates
    // take (a moving average), so updates take no more than about a tenth of the program's thread.
    this.#costMs = 0.8 * this.#costMs + 0.2 * (performance.now() - now);
    this.#gapMs = Math.max(this.#intervalMs, this.#costMs * 9);
    this.#updates++;
    const generation = Atomics.load(this.#shared, SHARED.generation);
    if (live.full) {
      live.compact();
      this.#worker.postMessage({ type: "model", all: true, json: JSON.stringify(live.model) });
    } else {
      this.#worker.postMessage({ type: "delta", json: JSON.stringify(delta) });
      if (generation !== this.#generation)
        this.#worker.postMessage({ type: "model", all: false, json: JSON.stringify(live.model) });
    }
    this.#generation = generation;
  }

  /** A page connected (heard when the event loop runs): update now if no frame did lately, and keep the clock. */
  #clientCame(): void {
    if (this.#closed) return;
    if (Atomics.load(this.#shared, SHARED.generation) !== this.#generation) this.#idleUpdate(true);
    this.#idle ??= setInterval(() => this.#idleUpdate(false), IDLE_UPDATE_MS);
    this.#idle.unref();
  }

  #idleUpdate(now: boolean): void {
    if (this.#closed || Atomics.load(this.#shared, SHARED.clients) === 0) return;
    const t = performance.now();
    if (!now && t - this.#lastUpdate < IDLE_UPDATE_MS) return;
    this.#update(`t = ${((t - this.#start) / 1000).toFixed(1)} s`, null, t);
  }

  #allGone(): void {
    if (Atomics.load(this.#shared, SHARED.clients) !== 0) return;
    if (this.#idle !== null) clearInterval(this.#idle);
    this.#idle = null;
    this.#live = null; // nothing is kept while nobody looks
  }
}

/** The page's title line: the device and the allocator. */
function titleOf(source: InspectedAllocator): string {
  return `${source.deviceName}, live from ${source.label ? `allocator '${source.label}'` : "an allocator"}`;
}

/**
 * Checks createAllocator's or createFrameManager's `inspector` option.
 * @throws TypeError / RangeError naming `op`, the field and the bad value.
 */
export function checkInspectorOptions(op: string, value: unknown, describe: (v: unknown) => string): void {
  if (value === undefined) return;
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new TypeError(`${op}: options.inspector must be { port: number }, got ${describe(value)}`);
  const o = value as { port?: unknown; maxUpdatesPerSecond?: unknown };
  for (const key of Object.keys(o))
    if (key !== "port" && key !== "maxUpdatesPerSecond")
      throw new TypeError(`${op}: options.inspector has an unknown field '${key}' (known: port, maxUpdatesPerSecond)`);
  if (typeof o.port !== "number" || !Number.isInteger(o.port) || o.port < 0 || o.port > 65535)
    throw new RangeError(`${op}: options.inspector.port must be an integer in [0, 65535], got ${describe(o.port)}`);
  const rate = o.maxUpdatesPerSecond;
  if (rate !== undefined && (typeof rate !== "number" || !(rate >= 1 && rate <= 120)))
    throw new RangeError(
      `${op}: options.inspector.maxUpdatesPerSecond must be a number in [1, 120], got ${describe(rate)}`,
    );
}
