/**
 * The live inspector's server, as the source of a worker thread (./inspector.ts starts it with `eval`): Node's http
 * module on 127.0.0.1, two routes, no dependency.
 *
 * - `GET /`: the report page (./html.ts, made once by the inspector) in its live form.
 * - `GET /events`: server-sent events. A new stream waits for the whole model (`event: model`), then gets one
 *   `event: delta` per position the game's thread adds (./live-model.ts). A stream whose client reads too slowly
 *   (more than {@link MAX_BUFFERED} bytes waiting) is ended; the browser's EventSource reconnects and starts again
 *   from a whole model.
 *
 * Why a thread: a game's loop is usually synchronous (beginFrame, record, endFrame, again), so Node's event loop on
 * the game's thread may never run; the server must answer pages without it. The game's thread learns through shared
 * memory (a SharedArrayBuffer of Int32, slots below) how many pages are connected and whether a new one came, at the
 * cost of one Atomics.load per frame; it posts JSON strings to this thread, which only writes them out.
 * @module
 */

/** Int32 slots of the shared memory. */
export const SHARED = {
  /** Connected event streams. */
  clients: 0,
  /** Bumped for every new stream: the game's thread sends a whole model when it changed. */
  generation: 1,
  /** 0 starting, 1 listening, 2 failed to listen (the message is on the reply port). */
  state: 2,
  /** The port listened on. */
  port: 3,
  /** The slot count. */
  length: 4,
} as const;

/** Bytes a slow client may have waiting before its stream is ended. */
export const MAX_BUFFERED = 32 * 1024 * 1024;

/** The worker's source (CommonJS: `eval` workers have `require`). */
export const INSPECTOR_WORKER_SOURCE = String.raw`
"use strict";
const { workerData, parentPort } = require("node:worker_threads");
const http = require("node:http");
const { html, port, host, shared, reply } = workerData;
const CLIENTS = ${SHARED.clients}, GENERATION = ${SHARED.generation}, STATE = ${SHARED.state}, PORT = ${SHARED.port};
const MAX_BUFFERED = ${MAX_BUFFERED};
const pending = new Set();
const ready = new Set();
let listening = false;

function send(res, text) {
  if (res.writableLength > MAX_BUFFERED) { res.end(); return; }
  res.write(text);
}

const server = http.createServer((req, res) => {
  const path = (req.url || "/").split("?")[0];
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" });
    res.end("vkmem inspector: only GET\n");
    return;
  }
  if (path === "/" || path === "/index.html") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end(html);
    return;
  }
  if (path === "/favicon.ico") {
    res.writeHead(204);
    res.end();
    return;
  }
  if (path === "/events") {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    res.write("retry: 1000\n: vkmem inspector\n\n");
    pending.add(res);
    Atomics.add(shared, CLIENTS, 1);
    Atomics.add(shared, GENERATION, 1);
    parentPort.postMessage("client");
    let counted = true;
    const gone = () => {
      if (!counted) return;
      counted = false;
      pending.delete(res);
      ready.delete(res);
      if (Atomics.sub(shared, CLIENTS, 1) === 1) parentPort.postMessage("gone");
    };
    req.on("close", gone);
    res.on("close", gone);
    return;
  }
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("vkmem inspector: no such page (try / or /events)\n");
});

server.on("error", (e) => {
  if (listening) return;
  reply.postMessage({ message: e.message, code: e.code || null });
  Atomics.store(shared, STATE, 2);
  Atomics.notify(shared, STATE);
});
server.listen(port, host, () => {
  listening = true;
  Atomics.store(shared, PORT, server.address().port);
  Atomics.store(shared, STATE, 1);
  Atomics.notify(shared, STATE);
});

parentPort.on("message", (m) => {
  if (m.type === "model") {
    const text = "event: model\ndata: " + m.json + "\n\n";
    for (const res of m.all ? [...pending, ...ready] : [...pending]) {
      send(res, text);
      pending.delete(res);
      ready.add(res);
    }
  } else if (m.type === "delta") {
    const text = "event: delta\ndata: " + m.json + "\n\n";
    for (const res of ready) send(res, text);
  }
});
`;
