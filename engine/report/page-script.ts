/**
 * The report page's code, as browser JavaScript source the page inlines after uPlot and ./page-map.ts: it reads
 * the model from the `report-data` script element and fills the page (./html.ts has the elements).
 *
 * - Timeline (traces only): one uPlot chart per heap (usage against budget), one of live allocations per memory
 *   type, one of fragmentation per memory type, one of uploads and evictions per frame. Clicking a chart moves the
 *   slider to that position.
 * - The frame slider: sets the map's position; its label and `#map-status` say which frame and what is drawn.
 * - The tooltip follows the pointer over the map: name, size, kind, usage flags, offset, pool and age.
 * - Tables of the largest allocations and of the leaks.
 *
 * - Live (the page served by the inspector, ./inspector.ts: `data-live` on the body): the model starts empty and
 *   grows through ./page-live.ts; every update draws the page again from the model (the charts through uPlot's
 *   setData while their set is the same), and the slider follows the newest position unless moved back.
 *
 * `window.vkmemReport` gives scripts and the browser test the model and the map (`setPosition`, `locate`).
 * @module
 */

export const PAGE_SCRIPT = String.raw`
(function () {
  var model = JSON.parse(document.getElementById("report-data").textContent);
  var kinds = JSON.parse(document.getElementById("report-kinds").textContent);
  var live = document.body.dataset.live === "1";
  function lastPosition() { return model.frames.length - 1; }
  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }

  function summarize() {
    var last = lastPosition();
    $("title").textContent = model.title;
    if (last < 0) { $("summary").textContent = "waiting for the first update"; return; }
    var totalMade = new Set(model.allocations.map(function (a) { return a.id; })).size;
    $("summary").textContent = model.source === "trace"
      ? model.frames.length + " positions (" + model.frames[0].label + " to " + model.frames[last].label + "), " + totalMade + " allocations " + (live ? "seen" : "made") + ", " +
        (model.leaks ? model.leaks.length : 0) + (live ? " alive now" : " alive at the end")
      : "one moment: " + model.allocations.length + " allocations in " + model.blocks.length + " blocks";
  }

  // ---- the map ----
  var canvas = $("map");
  var map = createMap(canvas, model, kinds);
  var slider = $("frame-slider");
  slider.min = "0";
  function ageText(a, p) {
    if (a.bornUs === null || model.frames[p].timeUs === null) return "unknown (a dump has no time)";
    var frames = p - a.made;
    var ms = (model.frames[p].timeUs - a.bornUs) / 1000;
    return frames + " frame" + (frames === 1 ? "" : "s") + " (" + (ms < 1000 ? ms.toFixed(1) + " ms" : (ms / 1000).toFixed(2) + " s") + ")";
  }
  function show(p) {
    if (p < 0) { $("map-status").textContent = "waiting for the first update"; return; }
    var drawn = map.setPosition(p);
    $("frame-label").textContent = model.frames[p].label + " (" + (p + 1) + " of " + model.frames.length + ")";
    $("map-status").textContent = model.frames[p].label + ": " + drawn.allocations + " allocations in " + drawn.blocks + " blocks";
    var notes = model.notes.filter(function (n) { return n.position === p; }).map(function (n) { return n.text; });
    $("frame-notes").textContent = notes.length ? "notes: " + notes.join("; ") : "";
    $("zoom-label").textContent = "zoom " + formatZoom(map.state.zoom);
    hideTooltip();
  }
  function formatZoom(z) { return z >= 100 ? Math.round(z) + "x" : (Math.round(z * 10) / 10) + "x"; }
  slider.addEventListener("input", function () { show(Number(slider.value)); });
  $("frame-prev").addEventListener("click", function () { slider.value = String(Math.max(0, Number(slider.value) - 1)); show(Number(slider.value)); });
  $("frame-next").addEventListener("click", function () { slider.value = String(Math.min(lastPosition(), Number(slider.value) + 1)); show(Number(slider.value)); });
  if (model.source === "dump") $("frame-controls").hidden = true;

  function zoomed() { $("zoom-label").textContent = "zoom " + formatZoom(map.state.zoom); hideTooltip(); }
  $("zoom-in").addEventListener("click", function () { map.zoomBy(2); zoomed(); });
  $("zoom-out").addEventListener("click", function () { map.zoomBy(0.5); zoomed(); });
  $("zoom-reset").addEventListener("click", function () { map.resetZoom(); zoomed(); });
  canvas.addEventListener("wheel", function (e) {
    e.preventDefault();
    var r = canvas.getBoundingClientRect();
    map.zoomBy(e.deltaY < 0 ? 1.25 : 0.8, e.clientX - r.left);
    zoomed();
  }, { passive: false });
  var drag = null;
  canvas.addEventListener("mousedown", function (e) { drag = e.clientX; });
  window.addEventListener("mouseup", function () { drag = null; });

  // ---- the tooltip ----
  var tip = $("tooltip");
  function hideTooltip() { tip.hidden = true; }
  canvas.addEventListener("mouseleave", hideTooltip);
  canvas.addEventListener("mousemove", function (e) {
    var r = canvas.getBoundingClientRect();
    if (drag !== null) { map.panBy(e.clientX - drag); drag = e.clientX; hideTooltip(); return; }
    var i = map.hit(e.clientX - r.left, e.clientY - r.top);
    if (i < 0) { hideTooltip(); return; }
    var a = model.allocations[i], b = model.blocks[a.block], p = map.state.position;
    tip.replaceChildren();
    tip.appendChild(el("b", a.name || "(unnamed)"));
    [
      ["size", formatBytes(a.size) + " (" + a.size.toLocaleString("en") + " bytes)"],
      ["kind", kinds[a.kind].label],
      ["type", a.type],
      ["usage", usageText(a)],
      ["offset", formatBytes(a.offset) + " in " + (b.dedicated ? "its own memory" : "a " + formatBytes(b.size) + " block") + " of " + model.memoryTypes[b.memoryType].label],
      ["pool", a.pool === null ? "default" : a.pool],
      ["age", ageText(a, p)],
    ].forEach(function (row) { var d = el("div"); d.appendChild(el("span", row[0] + ": ", "k")); d.appendChild(document.createTextNode(row[1])); tip.appendChild(d); });
    tip.hidden = false;
    var x = e.clientX + 14, y = e.clientY + 14;
    if (x + tip.offsetWidth > window.innerWidth - 4) x = e.clientX - tip.offsetWidth - 14;
    tip.style.left = (x + window.scrollX) + "px";
    tip.style.top = (y + window.scrollY) + "px";
  });

  var BUFFER_USAGE = [[1, "TRANSFER_SRC"], [2, "TRANSFER_DST"], [4, "UNIFORM_TEXEL"], [8, "STORAGE_TEXEL"], [16, "UNIFORM"], [32, "STORAGE"], [64, "INDEX"], [128, "VERTEX"], [256, "INDIRECT"], [0x20000, "DEVICE_ADDRESS"]];
  var IMAGE_USAGE = [[1, "TRANSFER_SRC"], [2, "TRANSFER_DST"], [4, "SAMPLED"], [8, "STORAGE"], [16, "COLOR_ATTACHMENT"], [32, "DEPTH_STENCIL_ATTACHMENT"], [64, "TRANSIENT_ATTACHMENT"], [128, "INPUT_ATTACHMENT"]];
  function usageText(a) {
    if (a.type === "UNKNOWN" || a.usage === 0) return a.usage === 0 ? "none (raw memory)" : "0x" + a.usage.toString(16);
    var table = a.type === "BUFFER" ? BUFFER_USAGE : IMAGE_USAGE, names = [], rest = a.usage;
    table.forEach(function (t) { if (a.usage & t[0]) { names.push(t[1]); rest &= ~t[0]; } });
    if (rest) names.push("0x" + rest.toString(16));
    return names.join(" | ");
  }

  // ---- the legend ----
  Object.keys(kinds).forEach(function (k) {
    var item = el("span", kinds[k].label, "legend-item");
    var sw = el("i", "", "swatch");
    sw.style.background = kinds[k].css;
    item.prepend(sw);
    $("legend").appendChild(item);
  });

  // ---- the tables ----
  function fill(tableId, rows, columns) {
    var tbody = $(tableId).querySelector("tbody");
    tbody.replaceChildren();
    rows.forEach(function (i, n) {
      var a = model.allocations[i], tr = el("tr");
      tr.dataset.allocation = String(i);
      columns(a, n).forEach(function (c) { tr.appendChild(el("td", c)); });
      tbody.appendChild(tr);
    });
  }
  function where(a) { var b = model.blocks[a.block]; return model.memoryTypes[b.memoryType].label + (b.dedicated ? ", dedicated" : ""); }
  function tables() {
    var last = lastPosition();
    if (last < 0) return;
    fill("largest-table", model.largest, function (a, n) {
      return [String(n + 1), a.name || "(unnamed)", formatBytes(a.size), kinds[a.kind].label, where(a), a.pool === null ? "default" : a.pool,
        model.source === "trace" ? model.frames[Math.min(a.made, last)].label : "-", model.source === "dump" ? "-" : a.died === null ? (live ? "alive now" : "alive at the end") : model.frames[Math.min(a.died, last)].label];
    });
    if (model.leaks === null) {
      $("leaks-note").textContent = "A JSON dump is one moment: it cannot tell leaks. Record a trace to see what is alive at the end.";
      $("leaks-table").hidden = true;
    } else {
      var leakBytes = model.leaks.reduce(function (s, i) { return s + model.allocations[i].size; }, 0);
      var n = model.leaks.length, s = n === 1 ? "" : "s";
      $("leaks-note").textContent = live
        ? n + " allocation" + s + " (" + formatBytes(leakBytes) + ") alive now."
        : n === 0 ? "Nothing was alive at the end of the trace." : n + " allocation" + s + " (" + formatBytes(leakBytes) + ") never freed by the end of the trace.";
      fill("leaks-table", model.leaks, function (a) {
        return [a.name || "(unnamed)", formatBytes(a.size), kinds[a.kind].label, where(a), a.pool === null ? "default" : a.pool, model.frames[Math.min(a.made, last)].label, ageText(a, last)];
      });
    }
  }

  // ---- the timeline ----
  var charts = [], chartsKey = null;
  if (model.source === "dump") {
    $("timeline").appendChild(el("p", "This is a JSON dump: one moment, so there is no timeline. Record a trace for usage, budgets, fragmentation, uploads and evictions over frames.", "no-timeline"));
    $("timeline").querySelector("p.no-timeline").id = "no-timeline";
  }
  var palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];
  var axisX = { values: function (u, ticks) { return ticks.map(function (t) { var f = model.frames[t]; return f ? (f.frame === null ? f.label : String(f.frame)) : ""; }); } };
  // Byte axes step in powers of two, as memory sizes do.
  var incrs = [];
  for (var e = 0; e < 50; e++) incrs.push(Math.pow(2, e));
  var bytesAxis = { size: 84, incrs: incrs, values: function (u, ticks) { return ticks.map(formatBytes); } };
  var bytesValue = function (u, v) { return v === null ? "-" : formatBytes(v); };
  /** The charts the model calls for: id, title, series, data, y axis. */
  function chartSpecs() {
    var specs = [];
    function chart(title, series, data, yAxis, id) { specs.push({ title: title, series: series, data: data, yAxis: yAxis, id: id }); }
    model.heaps.forEach(function (h, hi) {
      if (!h.usage.some(function (v) { return v !== null && v > 0; })) return;
      chart(h.label + ": usage against budget", [
        { label: "usage", stroke: "#1f77b4", width: 2, fill: "rgba(31,119,180,0.12)", value: bytesValue },
        { label: "budget", stroke: "#d62728", width: 2, dash: [6, 4], value: bytesValue },
      ], [h.usage, h.budget], bytesAxis, "chart-heap-" + hi);
    });
    var used = model.memoryTypes.map(function (t, i) { return i; }).filter(function (i) { return model.memoryTypes[i].allocationCount.some(function (v) { return v > 0; }); });
    chart("Live allocations per memory type", used.map(function (i, n) { return { label: model.memoryTypes[i].label, stroke: palette[n % palette.length], width: 2 }; }),
      used.map(function (i) { return model.memoryTypes[i].allocationCount; }), { size: 50 }, "chart-counts");
    chart("Fragmentation: largest free range / total free (1 = all free space in one range)",
      used.map(function (i, n) { return { label: model.memoryTypes[i].label, stroke: palette[n % palette.length], width: 2, value: function (u, v) { return v === null ? "-" : v.toFixed(3); } }; }),
      used.map(function (i) { return model.memoryTypes[i].fragmentation; }), { size: 50 }, "chart-fragmentation");
    chart("Uploads and evictions per frame", [
      { label: "uploaded", stroke: "#2ca02c", width: 2, value: bytesValue },
      { label: "evicted", stroke: "#ff7f0e", width: 2, value: bytesValue },
    ], [model.counts.uploadBytes, model.counts.evictedBytes], bytesAxis, "chart-traffic");
    return specs;
  }
  function timeline() {
    if (model.source === "dump" || model.frames.length === 0) return;
    var xs = model.frames.map(function (_, i) { return i; });
    var specs = chartSpecs();
    var key = specs.map(function (c) { return c.id + ":" + c.series.map(function (x) { return x.label; }).join(","); }).join(";");
    if (key === chartsKey) {
      // The same charts: new data only (a live update).
      specs.forEach(function (c, i) { charts[i].setData([xs].concat(c.data)); });
    } else {
      charts.forEach(function (u) { u.destroy(); });
      charts.length = 0;
      $("charts").replaceChildren();
      chartsKey = key;
      specs.forEach(function (c) {
        var box = el("div", undefined, "chart");
        box.id = c.id;
        box.appendChild(el("h3", c.title));
        $("charts").appendChild(box);
        var u = new uPlot({
          width: 560, height: 220,
          scales: { x: { time: false }, y: { range: function (u, min, max) { return [Math.min(0, min), max > 0 ? max * 1.08 : 1]; } } },
          axes: [axisX, c.yAxis || {}],
          series: [{ label: "frame", value: function (u, v) { return v === null || !model.frames[v] ? "" : model.frames[v].label; } }].concat(c.series),
          cursor: { drag: { x: false, y: false } },
        }, [xs].concat(c.data), box);
        u.over.addEventListener("click", function () { if (u.cursor.idx !== null && u.cursor.idx !== undefined) { slider.value = String(u.cursor.idx); show(u.cursor.idx); } });
        charts.push(u);
      });
    }
    var sum = function (list) { return list.reduce(function (s, v) { return s + v; }, 0); };
    $("timeline-summary").textContent = sum(model.counts.evictions) + " evictions, " + sum(model.counts.lost) + " lost allocations, " +
      sum(model.counts.failedAllocations) + " failed allocations in the whole " + (live ? "view" : "trace") + ".";
  }

  /** Draws everything from the model; the slider stays where it is unless it was on the newest position. */
  function render(follow) {
    window.vkmemReport.renders++;
    var last = lastPosition();
    summarize();
    tables();
    timeline();
    slider.max = String(Math.max(0, last));
    var p = follow ? last : Math.min(Number(slider.value), last);
    slider.value = String(Math.max(0, p));
    show(p);
  }

  window.vkmemReport = { model: model, map: map, show: function (p) { slider.value = String(p); show(p); }, charts: charts, updates: 0, renders: 0 };
  if (!live) {
    render(true);
  } else {
    $("live-status").hidden = false;
    $("leaks").querySelector("h2").textContent = "Alive now";
    render(true);
    // Deltas apply at once (cheap); drawing is coalesced to at most RENDER_MS apart, so a page that draws slower
    // than updates come stays responsive.
    var RENDER_MS = 250, lastRender = 0, renderTimer = null, follow = true;
    var following = function () { return Number(slider.value) >= lastPosition(); };
    var scheduleRender = function () {
      if (renderTimer !== null) return;
      renderTimer = setTimeout(function () {
        renderTimer = null;
        lastRender = performance.now();
        render(follow);
        follow = true;
      }, Math.max(0, RENDER_MS - (performance.now() - lastRender)));
    };
    connectLive(function (m) {
      model = m;
      map.setModel(m);
      window.vkmemReport.model = m;
      scheduleRender();
    }, function (d) {
      if (renderTimer === null) follow = following();
      applyDelta(model, d);
      scheduleRender();
    }, function (status, updates) {
      window.vkmemReport.updates = updates;
      $("live-status").textContent = "live: " + status + " (" + updates + " updates)";
    });
  }
})();
`;
