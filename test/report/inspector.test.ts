/**
 * The live inspector (engine/report/inspector.ts) on real Vulkan: the `inspector` option of createAllocator and
 * createFrameManager serves the report page on 127.0.0.1; a client of its server-sent events gets the whole model,
 * then deltas that, applied by the page's own code (page-live.ts), give the very model the server holds; nothing is
 * built while no client is connected; updates are bounded by maxUpdatesPerSecond; destroy() closes the server and a
 * process with an inspector exits by itself. Bad options are refused naming the field.
 *
 * The browser half (inspector-page.test.ts) opens the page in chromium against a running sample.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { createAllocator, createFrameManager, InvalidStateError, type Allocator } from "../../engine/index.js";
import { LiveModel, type LiveDelta } from "../../engine/report/live-model.js";
import { LIVE_SCRIPT } from "../../engine/report/page-live.js";
import { stateAt, type ReportModel } from "../../engine/report/model.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";
import { dependentsOfDevice } from "../../engine/lifetime.js";
import { rawHandle } from "../../engine/vulkan/handles.js";

const gpu = useGpuContext({ applicationName: "vkmem inspector tests" });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vkmem-inspector-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const USAGE = vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT;
const KiB = 1024;

/** The page's applyDelta, run here as the browser runs it. */
const applyDelta = new Function(`${LIVE_SCRIPT}\nreturn applyDelta;`)() as (m: ReportModel, d: LiveDelta) => void;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client of /events that keeps every event it gets. */
function listen(url: string): { events: Array<{ type: string; data: any }>; close(): void; opened: Promise<void> } {
  const events: Array<{ type: string; data: any }> = [];
  let request: http.ClientRequest;
  const opened = new Promise<void>((resolve, reject) => {
    request = http.get(`${url}events`, (res) => {
      expect(res.headers["content-type"]).toBe("text/event-stream");
      res.setEncoding("utf8");
      let buffer = "";
      res.on("data", (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const type = /^event: (\w+)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (type !== undefined && data !== undefined) events.push({ type, data: JSON.parse(data) });
        }
      });
      res.on("error", () => {});
      resolve();
    });
    request.on("error", reject);
  });
  return { events, opened, close: () => request.destroy() };
}

async function until(what: string, condition: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Names of the allocations alive at a model's last position. */
function liveNames(model: ReportModel): string[] {
  const state = stateAt(model, model.frames.length - 1);
  return state.blocks.flatMap((b) => b.allocations.map((i) => model.allocations[i]!.name)).sort();
}

describe("options", () => {
  test("bad inspector options are refused naming the field and the value; nothing is left made", () => {
    const bad: Array<[unknown, RegExp, typeof TypeError]> = [
      [8080, /^createAllocator: options\.inspector must be \{ port: number \}, got 8080$/, TypeError],
      [
        { port: -1 },
        /^createAllocator: options\.inspector\.port must be an integer in \[0, 65535\], got -1$/,
        RangeError,
      ],
      [{ port: 1.5 }, /options\.inspector\.port must be an integer in \[0, 65535\], got 1\.5$/, RangeError],
      [{ port: "80" }, /options\.inspector\.port must be an integer in \[0, 65535\], got "80"$/, RangeError],
      [{ port: 0, host: "0.0.0.0" }, /options\.inspector has an unknown field 'host'/, TypeError],
      [{ port: 0, maxUpdatesPerSecond: 0 }, /maxUpdatesPerSecond must be a number in \[1, 120\], got 0$/, RangeError],
    ];
    for (const [inspector, message, Ctor] of bad) {
      const call = () => createAllocator(gpu.context, { inspector } as never);
      expect(call).toThrow(Ctor);
      expect(call).toThrow(message);
    }
    const allocator = createAllocator(gpu.context);
    try {
      expect(() => createFrameManager(gpu.context, allocator, { inspector: { port: 70000 } })).toThrow(
        /^createFrameManager: options\.inspector\.port must be an integer in \[0, 65535\], got 70000$/,
      );
      expect(allocator.inspector).toBeNull();
    } finally {
      allocator.destroy();
    }
  });

  test("a port in use: an Error naming the address and the reason, and the allocator made before it is destroyed again", async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as net.AddressInfo).port;
    const dependents = dependentsOfDevice(rawHandle(gpu.context.device))!;
    const before = dependents.size;
    try {
      expect(() => createAllocator(gpu.context, { label: "busy", inspector: { port } })).toThrow(
        new RegExp(`^createAllocator: options\\.inspector: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`),
      );
      expect(dependents.size).toBe(before);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  test("a FrameManager joins its allocator's inspector (port 0 or the same) and refuses another port", () => {
    const allocator = createAllocator(gpu.context, { inspector: { port: 0 } });
    try {
      const inspector = allocator.inspector!;
      const other = inspector.port === 65535 ? 65534 : inspector.port + 1;
      expect(() => createFrameManager(gpu.context, allocator, { inspector: { port: other } })).toThrow(
        InvalidStateError,
      );
      expect(() => createFrameManager(gpu.context, allocator, { inspector: { port: other } })).toThrow(
        `already serves its inspector at ${inspector.url}, not on port ${other}`,
      );
      const frames = createFrameManager(gpu.context, allocator, { inspector: { port: 0 } });
      expect(frames.inspector).toBe(inspector);
      frames.destroy(); // it did not start the inspector: it stays
      expect(inspector.closed).toBe(false);
    } finally {
      allocator.destroy();
    }
  });
});

/**
 * A request through node:http (not fetch): Node's fetch cannot connect to a loopback server under Wine (connect
 * UNKNOWN, also against a plain http server), while node:http can, so the test runs the same on both platforms.
 */
function request(
  url: string,
  method = "GET",
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("serving", () => {
  test("the page on 127.0.0.1 at the port picked; 404 and 405 for the rest; no client, no update", async () => {
    const allocator = createAllocator(gpu.context, { label: "served" });
    const frames = createFrameManager(gpu.context, allocator, { inspector: { port: 0 } });
    const inspector = frames.inspector!;
    try {
      expect(inspector.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect(inspector.url).toBe(`http://127.0.0.1:${inspector.port}/`);
      expect(allocator.inspector).toBe(inspector);
      const page = await request(inspector.url);
      expect(page.status).toBe(200);
      expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
      const html = page.text;
      expect(html).toContain('<body data-live="1">');
      expect(html).toContain("function applyDelta(model, d)");
      expect((await request(`${inspector.url}nothing`)).status).toBe(404);
      expect((await request(inspector.url, "POST", "x")).status).toBe(405);
      // Only the loopback interface: another address of this machine refuses.
      const other = Object.values(os.networkInterfaces())
        .flat()
        .find((a) => a !== undefined && a.family === "IPv4" && !a.internal);
      if (other !== undefined) {
        await expect(request(`http://${other.address}:${inspector.port}/`)).rejects.toThrow();
      }
      // Frames with nobody looking: no model, no update.
      for (let f = 0; f < 5; f++) {
        frames.beginFrame();
        frames.createBuffer({ label: `quiet ${f}`, size: 4 * KiB, usage: USAGE }).destroy();
        frames.endFrame();
      }
      expect(inspector.clients).toBe(0);
      expect(inspector.updates).toBe(0);
    } finally {
      frames.destroy();
      allocator.destroy();
    }
    expect(inspector.closed).toBe(true);
    await expect(request(inspector.url)).rejects.toThrow(); // the server is gone with the FrameManager that made it
  });

  test("a client gets the model, then deltas that rebuild exactly the server's model as frames advance", async () => {
    const allocator = createAllocator(gpu.context, {
      label: "watched",
      inspector: { port: 0, maxUpdatesPerSecond: 120 },
    });
    const frames = createFrameManager(gpu.context, allocator, { label: "frames" });
    const inspector = allocator.inspector!;
    const client = listen(inspector.url);
    try {
      await client.opened;
      // The event loop runs here: the inspector hears of the client and sends a first model without a frame.
      await until("the first model", () => client.events.length > 0);
      expect(client.events[0]!.type).toBe("model");
      const model = client.events[0]!.data as ReportModel;
      expect(model.frames).toHaveLength(1);
      expect(model.frames[0]!.frame).toBeNull(); // made by the clock, not a frame
      expect(model.title).toBe(`${allocator.deviceName}, live from allocator 'watched'`);

      const kept = [];
      for (let f = 0; f < 8; f++) {
        // Past 1/120 s and nine times the last updates' cost, so that every frame's end updates (a sleep of a fixed
        // 100 ms was not always enough on a loaded machine: two frames then arrived as one delta).
        await sleep(inspector._msUntilNextUpdate + 5);
        const before = inspector.updates;
        frames.beginFrame();
        kept.push(frames.createBuffer({ label: `mesh ${f}`, size: (8 + f) * KiB, usage: USAGE }));
        if (f % 3 === 2) kept.shift()!.destroy();
        frames.endFrame();
        expect(inspector.updates).toBe(before + 1);
      }
      await until("eight frame updates", () => client.events.filter((e) => e.data.frame?.frame === 7).length === 1);
      const deltas = client.events.slice(1).map((e) => e.data as LiveDelta);
      expect(client.events.slice(1).every((e) => e.type === "delta")).toBe(true);
      const frameDeltas = deltas.filter((d) => d.frame.frame !== null);
      expect(frameDeltas.map((d) => d.frame.label)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((f) => `frame ${f}`));
      // Each frame's delta has the buffer it made; frame 2 frees mesh 0.
      for (let f = 0; f < 8; f++) expect(frameDeltas[f]!.allocations.map((a) => a.name)).toContain(`mesh ${f}`);
      for (const d of deltas) applyDelta(model, d);
      const died = frameDeltas[2]!.allocationsDied.map((i) => model.allocations[i]!.name);
      expect(died).toEqual(["mesh 0"]);
      expect(liveNames(model).filter((n) => n.startsWith("mesh"))).toEqual(kept.map((b) => b.label).sort());

      // A second client now gets the server's whole model: the first client's copy, built from deltas, equals it.
      const second = listen(inspector.url);
      await second.opened;
      await until("the second client's model", () => second.events.length > 0);
      const whole = second.events[0]!.data as ReportModel;
      await until("the first client's delta of that update", () => client.events.length > 1 + deltas.length);
      for (const e of client.events.slice(1 + deltas.length)) applyDelta(model, e.data as LiveDelta);
      expect(model).toEqual(whole);
      expect(inspector.clients).toBe(2);
      second.close();
      await until("one client", () => inspector.clients === 1);
      frames.waitIdle();
      for (const b of kept) b.destroy();
    } finally {
      client.close();
      frames.destroy();
      allocator.destroy();
    }
  });

  test("updates are bounded by maxUpdatesPerSecond, however many frames end", async () => {
    const allocator = createAllocator(gpu.context, { inspector: { port: 0, maxUpdatesPerSecond: 2 } });
    const frames = createFrameManager(gpu.context, allocator);
    const client = listen(allocator.inspector!.url);
    try {
      await client.opened;
      await until("the first model", () => client.events.length > 0);
      const before = allocator.inspector!.updates;
      const start = performance.now();
      for (let f = 0; f < 40; f++) {
        frames.beginFrame();
        frames.endFrame();
      }
      const seconds = (performance.now() - start) / 1000;
      // At most one update per half second of the loop, plus the one a new interval may start with.
      expect(allocator.inspector!.updates - before).toBeLessThanOrEqual(1 + Math.floor(seconds * 2));
      expect(allocator.inspector!.updates - before).toBeLessThan(40);
    } finally {
      client.close();
      frames.destroy();
      allocator.destroy();
    }
  });
});

describe("the live model", () => {
  test("past maxPositions the oldest half is dropped; what is alive and its indices stay right", () => {
    const allocator: Allocator = createAllocator(gpu.context);
    try {
      const live = new LiveModel("test", 8);
      const alive: Array<{ buffer: unknown; allocation: any; name: string }> = [];
      for (let p = 0; p < 9; p++) {
        const name = `b${p}`;
        const made = allocator.createBuffer({ size: (p + 1) * KiB, usage: USAGE }, { name });
        alive.push({ buffer: made.buffer, allocation: made.allocation, name });
        if (p % 2 === 1) {
          const gone = alive.shift()!;
          allocator.destroyBuffer(gone.buffer, gone.allocation);
        }
        live.add(allocator.dump(), `frame ${p}`, p, p * 1000, {
          uploadBytes: p,
          evictions: 0,
          evictedBytes: 0,
          lost: 0,
          failedAllocations: 0,
        });
      }
      expect(live.full).toBe(true);
      const before = liveNames(live.model);
      live.compact();
      const m = live.model;
      expect(m.frames.map((f) => f.label)).toEqual(["frame 5", "frame 6", "frame 7", "frame 8"]);
      expect(m.counts.uploadBytes).toEqual([5, 6, 7, 8]);
      expect(liveNames(m)).toEqual(before);
      expect(liveNames(m)).toEqual(alive.map((a) => a.name).sort());
      expect(m.leaks!.map((i) => m.allocations[i]!.name).sort()).toEqual(before);
      for (const a of m.allocations) expect(m.blocks[a.block]).toBeDefined();
      // It goes on growing from the compacted state.
      const gone = alive.shift()!;
      allocator.destroyBuffer(gone.buffer, gone.allocation);
      const delta = live.add(allocator.dump(), "frame 9", 9, 9000, {
        uploadBytes: 0,
        evictions: 0,
        evictedBytes: 0,
        lost: 0,
        failedAllocations: 0,
      });
      expect(delta.allocationsDied.map((i) => m.allocations[i]!.name)).toEqual([gone.name]);
      for (const a of alive) allocator.destroyBuffer(a.buffer, a.allocation);
    } finally {
      allocator.destroy();
    }
  });
});

describe("lifetime", () => {
  test("a process whose allocator serves an inspector, with a client connected, exits by itself after destroy()", () => {
    const script = path.join(dir, "exits.mjs");
    const engine = path.resolve(import.meta.dirname, "../../dist/engine/index.js");
    fs.writeFileSync(
      script,
      `import * as http from "node:http";
import { createContext, createAllocator, createFrameManager } from ${JSON.stringify(pathToFileURL(engine).href)};
const context = createContext();
const allocator = createAllocator(context, { inspector: { port: 0 } });
const frames = createFrameManager(context, allocator);
const url = allocator.inspector.url;
await new Promise((resolve) => http.get(url + "events", (res) => { res.once("data", resolve); }));
for (let f = 0; f < 3; f++) { frames.beginFrame(); frames.endFrame(); }
frames.destroy();
allocator.destroy();
context.destroy();
console.log("destroyed, closed: " + allocator.inspector);
`,
    );
    const r = spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 60_000 });
    expect(r.error).toBeUndefined();
    expect(r.signal).toBeNull(); // not killed by the timeout: nothing kept the process alive
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("destroyed, closed: null\n");
    expect(r.status).toBe(0);
  });
});
