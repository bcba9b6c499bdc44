/**
 * The report page's live part, as browser JavaScript source (inlined before ./page-script.ts, used only when the
 * page is served by the live inspector, ./inspector.ts): the server-sent events stream and how a
 * {@link LiveDelta} (./live-model.ts) is applied to the page's copy of the model.
 *
 * `event: model` replaces the whole model (on connecting, and after the server dropped old positions); `event:
 * delta` appends one position. Applying a delta mirrors LiveModel.add on the server, so the two copies stay equal
 * and the page's indices are the server's. EventSource reconnects by itself; the server then sends a whole model.
 * @module
 */

/** `applyDelta(model, delta)` and `connectLive(onModel, onDelta, onStatus)`. */
export const LIVE_SCRIPT = String.raw`
var COUNT_KEYS = ["uploadBytes", "evictions", "evictedBytes", "lost", "failedAllocations"];
function applyDelta(model, d) {
  var p = model.frames.length;
  model.frames.push(d.frame);
  model.heaps.forEach(function (h, i) { var v = d.heaps[i] || [null, null]; h.usage.push(v[0]); h.budget.push(v[1]); });
  model.memoryTypes.forEach(function (t, i) {
    var v = d.types[i] || [0, 0, 0, null];
    t.allocationCount.push(v[0]); t.allocatedBytes.push(v[1]); t.blockBytes.push(v[2]); t.fragmentation.push(v[3]);
  });
  COUNT_KEYS.forEach(function (k, i) { model.counts[k].push(d.counts[i]); });
  d.blocks.forEach(function (b) { model.blocks.push(b); });
  d.blocksDied.forEach(function (i) { model.blocks[i].died = p; });
  d.allocations.forEach(function (a) { model.allocations.push(a); });
  d.allocationsDied.forEach(function (i) { model.allocations[i].died = p; });
  model.largest = d.largest;
  model.leaks = d.leaks;
  d.notes.forEach(function (text) { model.notes.push({ position: p, text: text }); });
}
function connectLive(onModel, onDelta, onStatus) {
  var source = new EventSource("events");
  var updates = 0;
  source.addEventListener("open", function () { onStatus("connected, waiting for the next frame", updates); });
  source.addEventListener("error", function () { onStatus("disconnected: the program ended or paused; retrying", updates); });
  source.addEventListener("model", function (e) { updates++; onModel(JSON.parse(e.data)); onStatus("connected", updates); });
  source.addEventListener("delta", function (e) { updates++; onDelta(JSON.parse(e.data)); onStatus("connected", updates); });
  return source;
}
`;
