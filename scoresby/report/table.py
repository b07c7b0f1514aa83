"""The report's scene table: filters, pager and the script that draws one page of rows from the JSON block.

A row of the JSON block (page.scene_rows): [scene id, status index, attempts, started, duration s, place,
date, cloud %, snow/ice %, water %, NDVI mean, cloudy (0/1), error text, figures]; a figure is
[product index, path stem (null: "<id>/<id>_<product>"), flags (1 quicklook, 2 histogram, 4 COG)].
"""

from __future__ import annotations

TABLE_CSS = """
.filters { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: center; margin: 16px 0 8px; }
.filters input, .filters select { font: inherit; padding: 3px 6px; }
.filters input[type=search] { width: 18em; }
.filters input[type=number] { width: 5em; }
.pager button { font: inherit; padding: 2px 10px; }
.id { font-family: ui-monospace, Menlo, Consolas, monospace; word-break: break-all; min-width: 15em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.cloudy td { background: #fff8e1; }
td.error-cell { min-width: 14em; max-width: 28em; }
.error { color: #b3261e; word-break: break-word; }
td.products-cell { min-width: 250px; width: 45%; }
figure { display: inline-block; vertical-align: top; margin: 0 12px 12px 0; text-align: center; }
figure img { height: 110px; width: auto; max-width: 220px; object-fit: contain; border: 1px solid #dde2ea;
  background: #f6f8fa; display: block; }
figure img.hist { height: 64px; margin-top: 4px; }
figure img.broken { outline: 2px dashed #b3261e; min-width: 80px; }
figcaption { font-size: 12px; color: #5b6475; }
"""

TABLE_HTML = """<h2>Scenes</h2>
<div class="filters" id="filters">
<input type="search" id="f-text" placeholder="search scene id, place, error" aria-label="search">
<label>status <select id="f-status"><option value="">any</option></select></label>
<label>place <select id="f-place"><option value="">any</option></select></label>
<label>from <input type="date" id="f-from"></label><label>to <input type="date" id="f-to"></label>
<label>cloud ≤ <input type="number" id="f-cloud" min="0" max="100" step="1"> %</label>
<span class="pager"><button id="f-prev" type="button">‹</button> <span id="f-page"></span>
<button id="f-next" type="button">›</button></span>
</div>
<table id="scenes"><thead><tr><th>scene</th><th>status</th><th>attempts</th><th>started</th><th>duration</th>
<th>place</th><th>date</th><th>cloud %</th><th>snow/ice %</th><th>water %</th><th>NDVI</th><th>products</th>
<th class="error-head">error</th></tr></thead><tbody></tbody></table>
"""

TABLE_SCRIPT = """
(function () {
  var data = JSON.parse(document.getElementById("scene-data").textContent);
  var rows = data.rows, page = 0, shown = rows;
  var withErrors = rows.some(function (r) { return r[12]; });
  if (!withErrors) { document.querySelector("th.error-head").remove(); }
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) { n.className = cls; }
    if (text !== undefined && text !== null) { n.textContent = String(text); }
    return n;
  }
  function fmtS(v) {
    if (v === null) { return "\\u2013"; }
    if (v < 120) { return v.toFixed(1) + " s"; }
    return Math.floor(v / 60) + " min " + String(Math.floor(v % 60)).padStart(2, "0") + " s";
  }
  function num(v, d) { return v === null || v === undefined ? "\\u2013" : v.toFixed(d); }
  function legend(product) {
    var lg = data.legends[product];
    if (!lg) { return null; }
    var box = el("div"), bar = el("div", "legend");
    bar.style.background = "linear-gradient(to right, " + lg[0].join(", ") + ")";
    var labels = el("div", "legend-labels");
    labels.append(el("span", null, "-1 " + lg[1]), el("span", null, "0"), el("span", null, lg[2] + " 1"));
    box.append(bar, labels);
    return box;
  }
  function figure(r, f) {
    var fig = el("figure");
    if (typeof f === "string") { fig.append(el("span", "meta", f)); return fig; }
    var product = data.products[f[0]], flags = f[2];
    var stem = f[1] || (encodeURIComponent(r[0]) + "/" + encodeURIComponent(r[0] + "_" + product));
    function img(href, cls, alt) {
      var a = el("a", "full"), i = el("img", cls);
      a.href = href; i.src = href; i.alt = alt; i.loading = "lazy"; a.append(i); return a;
    }
    if (flags & 1) {
      fig.append(img(stem + data.suffixes[0], null, product + " quicklook"));
      var lg = legend(product); if (lg) { fig.append(lg); }
    }
    if (flags & 2) { fig.append(img(stem + data.suffixes[1], "hist", product + " histogram")); }
    var cap = el("figcaption");
    if (flags & 4) {
      var a = el("a", null, product);
      a.href = stem + data.suffixes[2]; a.title = "Cloud-Optimized GeoTIFF"; cap.append(a);
    } else { cap.textContent = product; }
    fig.append(cap);
    return fig;
  }
  function row(r) {
    var tr = el("tr"), status = data.statuses[r[1]];
    if (r[11]) { tr.className = "cloudy"; tr.title = "cloudy: not a real change"; }
    tr.id = "scene-" + r[0];
    tr.append(el("td", "id", r[0]), el("td", "status " + status, status), el("td", "num", r[2]),
      el("td", null, r[3] || "\\u2013"), el("td", "num", fmtS(r[4])), el("td", null, r[5] || "\\u2013"),
      el("td", null, r[6] || "\\u2013"), el("td", "num", num(r[7], 1)), el("td", "num", num(r[8], 1)),
      el("td", "num", num(r[9], 1)), el("td", "num", num(r[10], 3)));
    var cell = el("td", "products-cell"), box = el("div", "products");
    r[13].forEach(function (f) { box.append(figure(r, f)); });
    cell.append(box); tr.append(cell);
    if (withErrors) {
      var ec = el("td", "error-cell");
      if (r[12]) { ec.append(el("span", "error", r[12])); }
      tr.append(ec);
    }
    return tr;
  }
  function draw() {
    var pages = Math.max(1, Math.ceil(shown.length / data.page_size));
    page = Math.min(page, pages - 1);
    var body = document.querySelector("#scenes tbody"), frag = document.createDocumentFragment();
    shown.slice(page * data.page_size, (page + 1) * data.page_size).forEach(function (r) {
      frag.append(row(r));
    });
    body.replaceChildren(frag);
    document.getElementById("f-page").textContent = "page " + (page + 1) + " of " + pages + " \\u00b7 " +
      shown.length + " of " + rows.length + " scenes";
    document.body.setAttribute("data-rows-shown", shown.length);
  }
  function value(id) { return document.getElementById(id).value; }
  function filter() {
    var text = value("f-text").toLowerCase(), status = value("f-status"), place = value("f-place");
    var from = value("f-from"), to = value("f-to"), cloud = value("f-cloud");
    var maxCloud = cloud === "" ? null : parseFloat(cloud);
    shown = rows.filter(function (r) {
      if (status !== "" && String(r[1]) !== status) { return false; }
      if (place !== "" && r[5] !== place) { return false; }
      if (from && !(r[6] && r[6] >= from)) { return false; }
      if (to && !(r[6] && r[6] <= to)) { return false; }
      if (maxCloud !== null && !(r[7] !== null && r[7] <= maxCloud)) { return false; }
      if (text) {
        var hay = (r[0] + " " + (r[5] || "") + " " + (r[12] || "")).toLowerCase();
        if (hay.indexOf(text) < 0) { return false; }
      }
      return true;
    });
    page = 0; draw();
  }
  var st = document.getElementById("f-status");
  data.statuses.forEach(function (s, i) {
    if (!rows.some(function (r) { return r[1] === i; })) { return; }
    var o = el("option", null, s); o.value = i; st.append(o);
  });
  var places = Array.from(new Set(rows.map(function (r) { return r[5]; }).filter(Boolean))).sort();
  var pl = document.getElementById("f-place");
  places.forEach(function (p) { var o = el("option", null, p); o.value = p; pl.append(o); });
  ["f-text", "f-status", "f-place", "f-from", "f-to", "f-cloud"].forEach(function (id) {
    document.getElementById(id).addEventListener("input", filter);
  });
  document.getElementById("f-prev").addEventListener("click", function () {
    page = Math.max(0, page - 1); draw();
  });
  document.getElementById("f-next").addEventListener("click", function () { page += 1; draw(); });
  draw();
})();
"""
