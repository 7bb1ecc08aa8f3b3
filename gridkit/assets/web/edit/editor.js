/* gridkit grid editor: the page side of the JSON API (see gridkit/editor/server.py).
   Every value from the data is written with textContent, never as HTML. */
(function () {
  "use strict";
  var token = new URLSearchParams(window.location.search).get("token") || "";
  var ed = { ready: false, gridOf: [], layers: [], index: {}, colours: {}, selected: new Set(),
             state: null, map: null, outlines: {}, rows: {}, rowIds: null, choicesKey: null };
  window.gridkitEditor = ed;
  var el = function (id) { return document.getElementById(id); };
  var painting = false;

  function text(tag, value, cls) {
    var node = document.createElement(tag);
    node.textContent = value;
    if (cls) { node.className = cls; }
    return node;
  }

  function status(message, isError) {
    var box = el("status");
    box.textContent = message;
    box.className = isError ? "error" : "";
  }

  function api(method, path, body) {
    var options = { method: method, headers: { "X-Gridkit-Token": token } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(function (res) {
      return res.json().then(function (data) { return { ok: res.ok, status: res.status, data: data }; });
    });
  }

  function colourOf(gid) { return ed.colours[gid] || "#cccccc"; }

  function style(i) {
    var chosen = ed.selected.has(i);
    return { fillColor: colourOf(ed.gridOf[i]), fillOpacity: chosen ? 0.95 : 0.7,
             color: chosen ? "#d40000" : "#555555", weight: chosen ? 2.5 : 0.4 };
  }

  function restyle(i) { if (ed.layers[i]) { ed.layers[i].setStyle(style(i)); } }

  function setSelected(i, on) {
    if (on) { ed.selected.add(i); } else { ed.selected.delete(i); }
    restyle(i);
    el("selection-count").textContent = String(ed.selected.size);
  }

  function clearSelection() {
    var was = Array.from(ed.selected);
    ed.selected.clear();
    was.forEach(restyle);
    el("selection-count").textContent = "0";
  }

  function tooltip(i) {
    return function () {
      var box = document.createElement("div");
      box.appendChild(text("div", "单元 unit " + ed.unitIds[i]));
      box.appendChild(text("div", "网格 grid " + ed.gridOf[i]));
      box.appendChild(text("div", "村 village " + ed.villages[i]));
      return box;
    };
  }

  function fmt(x) { return Number(x).toLocaleString("en-US", { maximumFractionDigits: 1 }); }

  function gridRow(g, tolerance, chosen) {
    var tr = document.createElement("tr");
    tr.dataset.grid = g.grid_id;
    if (g.grid_id === chosen) { tr.className = "chosen"; }
    var name = document.createElement("td");
    var swatch = text("span", "", "swatch");
    swatch.style.background = g.colour;
    name.appendChild(swatch);
    name.appendChild(document.createTextNode(g.grid_id));
    tr.appendChild(name);
    tr.appendChild(text("td", fmt(g.weight)));
    tr.appendChild(text("td", fmt(g.target)));
    var off = Math.abs(g.deviation) > tolerance + 1e-9;
    tr.appendChild(text("td", (g.deviation >= 0 ? "+" : "") + (100 * g.deviation).toFixed(1) + "%",
                        off ? "off" : ""));
    tr.appendChild(text("td", String(g.units)));
    tr.appendChild(text("td", g.contiguous ? "是 yes" : "否 no", g.contiguous ? "" : "broken"));
    var lockCell = document.createElement("td");
    var box = document.createElement("input");
    box.type = "checkbox";
    box.checked = g.locked;
    box.className = "lock";
    box.title = "锁定 lock";
    box.addEventListener("click", function (e) {
      e.stopPropagation();
      act("/api/lock", { grid_id: g.grid_id, locked: box.checked });
    });
    lockCell.appendChild(box);
    lockCell.appendChild(document.createTextNode(g.locked ? " 是 yes" : " 否 no"));
    tr.appendChild(lockCell);
    tr.addEventListener("click", function () { chooseGrid(g.grid_id); });
    return tr;
  }

  function renderTable(state) {  // rebuild only the rows whose grid changed
    var body = document.querySelector("#grids tbody");
    var chosen = el("target").value;
    var ids = state.grids.map(function (g) { return g.grid_id; }).join("\n");
    if (ids !== ed.rowIds) {
      body.textContent = "";
      ed.rows = {};
      ed.rowIds = ids;
    }
    state.grids.forEach(function (g) {
      var key = JSON.stringify(g);
      var row = ed.rows[g.grid_id];
      if (row && row.key === key) { return; }
      var tr = gridRow(g, state.tolerance, chosen);
      if (row) { body.replaceChild(tr, row.tr); } else { body.appendChild(tr); }
      ed.rows[g.grid_id] = { tr: tr, key: key };
    });
  }

  function chooseGrid(gid) {
    el("target").value = gid;
    document.querySelectorAll("#grids tbody tr").forEach(function (tr) {
      tr.className = tr.dataset.grid === gid ? "chosen" : "";
    });
  }

  function renderChoices(state) {  // the grid list changes only with grids or locks
    var key = state.grids.map(function (g) { return g.grid_id + (g.locked ? "*" : ""); }).join("\n");
    if (key === ed.choicesKey) { return; }
    ed.choicesKey = key;
    var select = el("target");
    var chosen = select.value;
    select.textContent = "";
    state.grids.forEach(function (g) {
      var opt = text("option", g.grid_id + (g.locked ? " 🔒" : ""));
      opt.value = g.grid_id;
      select.appendChild(opt);
    });
    if (chosen && state.grids.some(function (g) { return g.grid_id === chosen; })) {
      select.value = chosen;
    }
  }

  function renderSummary(state) {
    el("summary").textContent = state.grids.length + " 个网格 grids · 规则 rules: " +
      (state.valid ? "满足 kept" : "未满足 broken") + " · 容差 tolerance ±" +
      (100 * state.tolerance).toFixed(0) + "%";
    var list = el("issues");
    list.textContent = "";
    state.issues.forEach(function (issue) { list.appendChild(text("li", issue.message)); });
    el("undo").disabled = !state.can_undo;
    el("redo").disabled = !state.can_redo;
  }

  function apply(state) {
    var touched = new Set();
    (state.changes || []).forEach(function (change) {
      var i = ed.index[String(change[0])];
      if (i !== undefined) { ed.gridOf[i] = change[1]; touched.add(i); }
    });
    var recoloured = new Set();
    state.grids.forEach(function (g) {
      if (ed.colours[g.grid_id] !== g.colour) { recoloured.add(g.grid_id); }
      ed.colours[g.grid_id] = g.colour;
    });
    if (recoloured.size) {
      for (var i = 0; i < ed.gridOf.length; i++) {
        if (recoloured.has(ed.gridOf[i])) { touched.add(i); }
      }
    }
    touched.forEach(restyle);
    if (state.outlines) { drawOutlines(state.outlines); }
    ed.state = state;
    renderChoices(state);
    renderTable(state);
    renderSummary(state);
  }

  function act(path, body) {
    return api("POST", path, body || {}).then(function (res) {
      if (!res.ok) {
        status("未执行 refused (" + res.status + "): " + (res.data.reason || res.data.error), true);
        if (ed.state) { ed.rowIds = null; renderTable(ed.state); }  // undo a clicked lock box
        return res;
      }
      apply(res.data);
      var note = res.data.path ? "已保存 saved: " + res.data.path : "完成 done";
      if (res.data.warnings && res.data.warnings.length) { note += "\n" + res.data.warnings[0]; }
      status(note, false);
      return res;
    }).catch(function (err) { status("错误 error: " + err, true); });
  }

  function moveSelected() {
    if (!ed.selected.size) { status("请先选择单元 select units first", true); return; }
    var ids = Array.from(ed.selected).map(function (i) { return ed.unitIds[i]; });
    act("/api/move", { units: ids, grid_id: el("target").value, force: el("force").checked })
      .then(function (res) { if (res && res.ok) { clearSelection(); } });
  }

  function setBrush(on) {
    if (on) { ed.map.dragging.disable(); } else { ed.map.dragging.enable(); }
  }

  function drawUnits(units, renderer) {
    ed.unitIds = []; ed.villages = []; ed.points = [];
    var layer = L.geoJSON(units, {
      renderer: renderer,
      style: function (f) { return style(f.properties.i); },
      onEachFeature: function (f, lyr) {
        var i = f.properties.i;
        ed.layers[i] = lyr;
        ed.unitIds[i] = f.properties.id;
        ed.villages[i] = f.properties.v;
        ed.points[i] = f.properties.p;
        ed.index[String(f.properties.id)] = i;
        lyr.bindTooltip(tooltip(i), { sticky: true });
        lyr.on("click", function () { if (!el("brush").checked) { setSelected(i, !ed.selected.has(i)); } });
        lyr.on("mousedown", function () { if (el("brush").checked) { painting = true; setSelected(i, true); } });
        lyr.on("mouseover", function () { if (painting) { setSelected(i, true); } });
      }
    });
    layer.addTo(ed.map);
    return layer;
  }

  function drawContext(context, renderer) {  // one canvas: a second one would catch the clicks
    if (context.buildings) {
      L.geoJSON(context.buildings, { renderer: renderer, interactive: false,
        style: { color: "#9a7b4f", weight: 0.5, fillColor: "#d8c3a5", fillOpacity: 0.6 } }).addTo(ed.map);
    }
    if (context.roads) {
      L.geoJSON(context.roads, { renderer: renderer, interactive: false,
        style: { color: "#8a8a8a", weight: 0.7, opacity: 0.6 } }).addTo(ed.map);
    }
    L.geoJSON(context.villages, { renderer: renderer, interactive: false,
      style: { color: "#000000", weight: 3.5, fill: false } }).addTo(ed.map);
  }

  function drawOutlines(collection) {  // replace the outlines of the grids it names
    collection.features.forEach(function (f) {
      var gid = f.properties.g;
      if (ed.outlines[gid]) { ed.map.removeLayer(ed.outlines[gid]); delete ed.outlines[gid]; }
      if (f.geometry) {
        ed.outlines[gid] = L.geoJSON(f, { renderer: ed.renderer, interactive: false,
          style: { color: "#202020", weight: 1.6, opacity: 0.9 } }).addTo(ed.map);
      }
    });
  }

  ed.pointOf = function (unitId) {  // the container pixel of a point inside the unit
    var p = ed.points[ed.index[String(unitId)]];
    var px = ed.map.latLngToContainerPoint(L.latLng(p[0], p[1]));
    var box = ed.map.getContainer().getBoundingClientRect();
    return { x: px.x, y: px.y, left: box.left, top: box.top };
  };

  function start() {
    ed.map = L.map("map", { preferCanvas: true, zoomSnap: 0.25 });
    Promise.all([api("GET", "/api/units"), api("GET", "/api/context"),
                 api("GET", "/api/assignment"), api("GET", "/api/state"),
                 api("GET", "/api/outlines")]).then(function (r) {
      var bad = r.filter(function (x) { return !x.ok; });
      if (bad.length) { status("加载失败 loading failed: " + bad[0].data.error, true); return; }
      ed.gridOf = r[2].data.grid_ids.slice();
      r[3].data.grids.forEach(function (g) { ed.colours[g.grid_id] = g.colour; });
      var renderer = L.canvas({ padding: 0.3, tolerance: 0 });
      ed.renderer = renderer;
      var units = drawUnits(r[0].data, renderer);
      drawContext(r[1].data, renderer);
      drawOutlines(r[4].data);
      ed.map.fitBounds(units.getBounds());
      apply(r[3].data);
      status("就绪 ready: 点击或用画笔选择单元，再选网格并移动 click or brush units, " +
             "choose a grid, move", false);
      ed.ready = true;
    }).catch(function (err) { status("加载失败 loading failed: " + err, true); });
    el("clear").addEventListener("click", clearSelection);
    el("move").addEventListener("click", moveSelected);
    el("brush").addEventListener("change", function () { setBrush(el("brush").checked); });
    el("rebalance").addEventListener("click", function () {
      status("正在平衡 rebalancing…", false);
      act("/api/rebalance");
    });
    el("undo").addEventListener("click", function () { act("/api/undo"); });
    el("redo").addEventListener("click", function () { act("/api/redo"); });
    el("save").addEventListener("click", function () { act("/api/save"); });
    el("target").addEventListener("change", function () { chooseGrid(el("target").value); });
    document.addEventListener("mouseup", function () { painting = false; });
  }

  start();
}());
