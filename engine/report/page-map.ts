/**
 * The report page's memory map, as browser JavaScript source (a string the page inlines; no DOM types here, the
 * page's test runs it in a real browser).
 *
 * It draws the state at one position (the rule of ./model.ts: `born <= p` and `died` null or `> p`) the way
 * GpuMemDumpVis does: per memory type with live blocks, a heading with its flags, then per block a gray label line
 * and a bar; free space (220,220,220), each allocation a rectangle in its kind's colour with a gray outline, one
 * narrower than two pixels a black 1-px line at its offset, names written inside the rectangles they fit in. One x
 * scale for every bar and every position: the largest block of the whole trace fills the width at zoom 1, so bars
 * compare directly and do not jump as the slider moves.
 *
 * Zoom and pan: `zoom` (1 to 2^24) and `viewStart` (the byte at the left edge) give the x of byte b as
 * `LEFT + (b - viewStart) * pxPerByte`; the wheel zooms about the pointer, dragging pans, the buttons zoom about the
 * middle. Every drawn allocation is kept with its rectangle, so the tooltip and `locate` (for tests) hit-test what
 * is on the screen, not a second computation of it.
 * @module
 */

/** `createMap(canvas, model, onDraw)`: returns `{ setPosition(p), setModel(m), zoomBy(f, x), resetZoom(), hit(x, y), locate(name), drawn() }`. */
export const MAP_SCRIPT = String.raw`
function createMap(canvas, model, kinds) {
  var LEFT = 8, RIGHT = 8, BAR = 24, LABEL = 16, HEADING = 26, GAP = 6;
  var FREE = "rgb(220,220,220)", OUTLINE = "rgb(155,155,155)";
  var maxBlock = 1;
  function measure() { maxBlock = 1; model.blocks.forEach(function (b) { if (b.size > maxBlock) maxBlock = b.size; }); }
  measure();
  var st = { position: 0, zoom: 1, viewStart: 0, hits: [], rows: 0 };

  function alive(o, p) { return o.born <= p && (o.died === null || o.died > p); }
  function widthPx() { return canvas.clientWidth || 1000; }
  function pxPerByte() { return (widthPx() - LEFT - RIGHT) * st.zoom / maxBlock; }
  function clampView() {
    var visible = maxBlock / st.zoom;
    if (st.viewStart > maxBlock - visible) st.viewStart = maxBlock - visible;
    if (st.viewStart < 0) st.viewStart = 0;
  }

  function layout(p) {
    var byBlock = new Map();
    model.blocks.forEach(function (b, i) { if (alive(b, p)) byBlock.set(i, []); });
    model.allocations.forEach(function (a, i) { if (alive(a, p) && byBlock.has(a.block)) byBlock.get(a.block).push(i); });
    var types = [];
    model.memoryTypes.forEach(function (t, ti) {
      var rows = [];
      byBlock.forEach(function (list, bi) { if (model.blocks[bi].memoryType === ti) rows.push({ block: bi, allocations: list }); });
      if (rows.length === 0) return;
      // GpuMemDumpVis's order: default pool blocks, default dedicated, then custom pools.
      rows.sort(function (x, y) {
        var bx = model.blocks[x.block], by = model.blocks[y.block];
        var kx = (bx.pool === null ? 0 : 2) + (bx.dedicated ? 1 : 0), ky = (by.pool === null ? 0 : 2) + (by.dedicated ? 1 : 0);
        if (kx !== ky) return kx - ky;
        if ((bx.pool || "") !== (by.pool || "")) return (bx.pool || "") < (by.pool || "") ? -1 : 1;
        return x.block - y.block;
      });
      types.push({ type: ti, rows: rows });
    });
    return types;
  }

  function blockLabel(b, n) {
    var where = b.pool === null ? "Default pool" : "Custom pool " + b.pool;
    return where + (b.dedicated ? " dedicated allocation " : " block ") + n + ": " + formatBytes(b.size);
  }

  function draw() {
    measure(); // a live model grows: its largest block may be new
    var types = layout(st.position);
    var height = 4;
    types.forEach(function (t) { height += HEADING + t.rows.length * (LABEL + BAR + GAP); });
    height = Math.max(height, 40);
    var dpr = window.devicePixelRatio || 1;
    var w = widthPx();
    canvas.style.height = height + "px";
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(height * dpr);
    var g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = "#fff";
    g.fillRect(0, 0, w, height);
    clampView();
    var ppb = pxPerByte();
    var xOf = function (byte) { return LEFT + (byte - st.viewStart) * ppb; };
    var hits = [];
    var y = 4, allocationCount = 0, blockCount = 0;
    g.textBaseline = "top";
    types.forEach(function (t) {
      var type = model.memoryTypes[t.type];
      g.fillStyle = "#000";
      g.font = "bold 14px sans-serif";
      g.fillText("Memory type " + type.label + (type.flags.length ? " (" + type.flags.join(" ") + ")" : ""), LEFT, y + 6);
      y += HEADING;
      var perKind = {};
      t.rows.forEach(function (row) {
        var b = model.blocks[row.block];
        var n = perKind[(b.pool || "") + (b.dedicated ? "d" : "b")] = (perKind[(b.pool || "") + (b.dedicated ? "d" : "b")] || 0) + 1;
        g.fillStyle = "rgb(110,110,110)";
        g.font = "12px sans-serif";
        g.fillText(blockLabel(b, n - 1) + (b.dedicated && row.allocations.length ? " '" + (model.allocations[row.allocations[0]].name || "unnamed") + "'" : ""), LEFT, y + 2);
        y += LABEL;
        var x0 = Math.max(LEFT, xOf(0)), x1 = Math.min(w - RIGHT, xOf(b.size));
        if (x1 > x0) {
          g.fillStyle = FREE;
          g.fillRect(x0, y, x1 - x0, BAR);
        }
        blockCount++;
        row.allocations.forEach(function (ai) {
          var a = model.allocations[ai];
          allocationCount++;
          var ax0 = xOf(a.offset), ax1 = xOf(a.offset + a.size);
          if (ax1 < LEFT || ax0 > w - RIGHT) return;
          var cx0 = Math.max(ax0, LEFT), cx1 = Math.min(ax1, w - RIGHT);
          if (ax1 - ax0 < 2) {
            g.fillStyle = "#000";
            g.fillRect(Math.floor(cx0), y, 1, BAR);
            hits.push({ x0: Math.floor(cx0) - 1, x1: Math.floor(cx0) + 2, y0: y, y1: y + BAR, allocation: ai });
            return;
          }
          g.fillStyle = kinds[a.kind].css;
          g.fillRect(cx0, y, cx1 - cx0, BAR);
          g.strokeStyle = OUTLINE;
          g.lineWidth = 1;
          g.strokeRect(cx0 + 0.5, y + 0.5, cx1 - cx0 - 1, BAR - 1);
          if (a.name && cx1 - cx0 > 24) {
            g.save();
            g.beginPath();
            g.rect(cx0 + 2, y, cx1 - cx0 - 4, BAR);
            g.clip();
            g.fillStyle = "rgb(40,40,40)";
            g.font = "11px sans-serif";
            g.fillText(a.name, cx0 + 3, y + 7);
            g.restore();
          }
          hits.push({ x0: cx0, x1: cx1, y0: y, y1: y + BAR, allocation: ai });
        });
        y += BAR + GAP;
      });
    });
    if (types.length === 0) {
      g.fillStyle = "#666";
      g.font = "14px sans-serif";
      g.fillText("No memory is allocated at this point.", LEFT, 12);
    }
    st.hits = hits;
    canvas.dataset.allocations = String(allocationCount);
    canvas.dataset.blocks = String(blockCount);
    return { allocations: allocationCount, blocks: blockCount };
  }

  return {
    state: st,
    draw: draw,
    setPosition: function (p) { st.position = p; return draw(); },
    setModel: function (m) { model = m; st.hits = []; },
    zoomBy: function (factor, atX) {
      var ppb = pxPerByte();
      var anchor = st.viewStart + ((atX === undefined ? widthPx() / 2 : atX) - LEFT) / ppb;
      st.zoom = Math.min(Math.pow(2, 24), Math.max(1, st.zoom * factor));
      st.viewStart = anchor - ((atX === undefined ? widthPx() / 2 : atX) - LEFT) / pxPerByte();
      return draw();
    },
    panBy: function (dx) { st.viewStart -= dx / pxPerByte(); return draw(); },
    resetZoom: function () { st.zoom = 1; st.viewStart = 0; return draw(); },
    hit: function (x, y) {
      for (var i = st.hits.length - 1; i >= 0; i--) {
        var h = st.hits[i];
        if (x >= h.x0 && x < h.x1 && y >= h.y0 && y < h.y1) return h.allocation;
      }
      return -1;
    },
    locate: function (name) {
      for (var i = 0; i < st.hits.length; i++) {
        var h = st.hits[i];
        if (model.allocations[h.allocation].name === name) return { x: (h.x0 + h.x1) / 2, y: (h.y0 + h.y1) / 2 };
      }
      return null;
    },
  };
}
`;
