// A camera's page: the live view (snapshot refresh or MJPEG), its health, and the zones editor drawn on the
// image: click to add points, double-click to finish, drag a point to move it, then save through the API.
(function () {
  "use strict";
  var view = document.getElementById("cam-view");
  if (!view) return;
  var cameraId = view.dataset.camera, csrf = view.dataset.csrf, canWrite = view.dataset.canWrite === "1";
  var msg = JSON.parse(view.dataset.msg || "{}"), kinds = JSON.parse(view.dataset.kinds || "{}");
  var zones = JSON.parse(view.dataset.zones || "[]");
  var img = document.getElementById("cam-img"), svg = document.getElementById("cam-svg");
  var api = "/api/v1/cameras/" + cameraId;
  var NS = "http://www.w3.org/2000/svg", S = 1000;
  var selected = null;  // the zone being edited: a saved zone, or a new one (id null)
  var drawing = false, dragging = -1;

  // ---- live view ----
  var mode = "snapshot", timer = null;
  function snapshot() { img.src = api + "/snapshot.jpg?t=" + Date.now(); }
  img.addEventListener("load", function () { view.classList.remove("no-image"); view.dataset.loaded = "1"; });
  img.addEventListener("error", function () { view.classList.add("no-image"); });
  function setMode(m) {
    mode = m;
    if (timer) { clearInterval(timer); timer = null; }
    if (m === "mjpeg") { img.src = api + "/mjpeg?fps=5"; }
    else { snapshot(); timer = setInterval(snapshot, 2000); }
  }
  document.querySelectorAll("input[name=viewmode]").forEach(function (r) {
    r.addEventListener("change", function () { if (r.checked) setMode(r.value); });
  });
  setMode("snapshot");
  var health = document.getElementById("cam-health");
  setInterval(function () {
    fetch(api, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (c) {
      ["status", "fps", "last_frame_at", "error"].forEach(function (k) {
        var dd = health && health.querySelector('[data-k="' + k + '"]');
        var v = c.health[k];
        if (dd) dd.textContent = v === null || v === undefined ? "—" : (k === "last_frame_at" ? String(v).slice(0, 19).replace("T", " ") : v);
      });
    }).catch(function () {});
  }, 5000);

  // ---- drawing ----
  function el(name, attrs) {
    var e = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }
  function pts(points) { return points.map(function (p) { return (p[0] * S).toFixed(1) + "," + (p[1] * S).toFixed(1); }).join(" "); }
  function render() {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var all = zones.slice();
    if (selected && selected.id === null) all.push(selected);
    all.forEach(function (z) {
      var isSel = selected && (z === selected || (z.id !== null && z.id === selected.id));
      var shape = z.kind === "line" || (isSel && drawing)
        ? el("polyline", { points: pts(z.points), "class": "z z-" + z.kind + (isSel ? " sel" : ""), "data-id": z.id || "" })
        : el("polygon", { points: pts(z.points), "class": "z z-" + z.kind + (isSel ? " sel" : ""), "data-id": z.id || "" });
      shape.addEventListener("click", function (e) { if (!drawing) { e.stopPropagation(); select(z.id); } });
      svg.appendChild(shape);
      if (z.points.length) {
        var label = el("text", { x: z.points[0][0] * S + 6, y: z.points[0][1] * S - 6, "class": "zl" });
        label.textContent = z.name || kinds[z.kind] || "";
        svg.appendChild(label);
      }
      if (z.kind === "line" && z.points.length >= 2) {
        ["A", "B"].forEach(function (t, i) {
          var p = z.points[i === 0 ? 0 : z.points.length - 1];
          var l = el("text", { x: p[0] * S + 8, y: p[1] * S + 18, "class": "zl zab" });
          l.textContent = t;
          svg.appendChild(l);
        });
      }
      if (isSel && canWrite) {
        z.points.forEach(function (p, i) {
          var h = el("circle", { cx: p[0] * S, cy: p[1] * S, r: 9, "class": "zh", "data-i": i });
          h.addEventListener("mousedown", function (e) { e.preventDefault(); e.stopPropagation(); dragging = i; });
          svg.appendChild(h);
        });
      }
    });
    svg.dataset.zones = String(zones.length);
  }
  function at(e) {
    var r = svg.getBoundingClientRect();
    var x = Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
    var y = Math.min(1, Math.max(0, (e.clientY - r.top) / r.height));
    return [Math.round(x * 100000) / 100000, Math.round(y * 100000) / 100000];
  }
  var form = document.getElementById("zone-form");
  var hint = document.getElementById("zone-hint"), status = document.getElementById("zone-status");
  var delBtn = document.getElementById("zone-delete");

  function fill(z) {
    if (!form) return;
    form.elements.name.value = z.name || "";
    form.elements.kind.value = z.kind;
    form.elements.direction.value = z.direction || "both";
    form.elements.schedule.value = (z.schedule && z.schedule.type) || "always";
    if (z.schedule && z.schedule.weekly) form.elements.weekly.value = JSON.stringify(z.schedule.weekly);
    form.querySelectorAll("input[name=purpose]").forEach(function (c) { c.checked = (z.purposes || []).indexOf(c.value) >= 0; });
    form.elements.kind.disabled = z.id !== null;
    delBtn.disabled = z.id === null;
    syncForm();
  }
  function syncForm() {
    if (!form) return;
    var k = form.elements.kind.value;
    form.elements.direction.closest("label").hidden = k !== "line";
    form.querySelector(".cam-weekly").hidden = form.elements.schedule.value !== "custom";
  }
  function select(id) {
    var z = zones.filter(function (x) { return x.id === id; })[0];
    selected = z ? JSON.parse(JSON.stringify(z)) : null;
    drawing = false;
    if (selected) fill(selected);
    render();
  }
  if (canWrite && form) {
    form.querySelectorAll("[data-draw]").forEach(function (b) {
      b.addEventListener("click", function () {
        selected = { id: null, kind: b.dataset.draw, name: "", points: [], purposes: [], direction: b.dataset.draw === "line" ? "both" : null, schedule: { type: "always" } };
        drawing = true;
        fill(selected);
        hint.textContent = msg.need_points || "";
        view.classList.add("drawing");
        render();
      });
    });
    form.elements.kind.addEventListener("change", function () { if (selected) selected.kind = form.elements.kind.value; syncForm(); render(); });
    form.elements.schedule.addEventListener("change", syncForm);
    svg.addEventListener("click", function (e) {
      if (!drawing || !selected || e.detail > 1) return;
      selected.points.push(at(e));
      render();
    });
    svg.addEventListener("dblclick", function (e) {
      if (!drawing || !selected) return;
      e.preventDefault();
      var need = selected.kind === "line" ? 2 : 3;
      if (selected.points.length >= need) {
        drawing = false;
        view.classList.remove("drawing");
        hint.textContent = "";
        form.elements.name.focus();
        render();
      }
    });
    svg.addEventListener("mousemove", function (e) {
      if (dragging < 0 || !selected) return;
      selected.points[dragging] = at(e);
      render();
    });
    document.addEventListener("mouseup", function () {
      if (dragging < 0) return;
      dragging = -1;
      if (selected && selected.id !== null) save({ points: selected.points });
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!selected) { status.textContent = msg.need_points || ""; return; }
      var body = {
        name: form.elements.name.value.trim(),
        purposes: Array.prototype.map.call(form.querySelectorAll("input[name=purpose]:checked"), function (c) { return c.value; }),
        schedule: { type: form.elements.schedule.value },
        points: selected.points
      };
      if (body.schedule.type === "custom") {
        try { body.schedule.weekly = JSON.parse(form.elements.weekly.value); } catch (err) { status.textContent = msg.error + ": JSON"; return; }
      }
      var kind = selected.id === null ? form.elements.kind.value : selected.kind;
      if (kind === "line") body.direction = form.elements.direction.value;
      if (selected.id === null) body.kind = kind;
      save(body);
    });
    delBtn.addEventListener("click", function () {
      if (!selected || selected.id === null || !window.confirm(msg.confirm_delete)) return;
      send("DELETE", api + "/zones/" + selected.id).then(function () {
        zones = zones.filter(function (z) { return z.id !== selected.id; });
        selected = null;
        status.textContent = msg.deleted;
        table();
        render();
      }).catch(function (err) { status.textContent = err.message; });
    });
    document.getElementById("zone-new").addEventListener("click", function () {
      selected = null; drawing = false; view.classList.remove("drawing"); hint.textContent = ""; render();
    });
  }
  function send(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      if (r.status === 204) return null;
      return r.json().then(function (j) {
        if (!r.ok) { var er = j.error || {}; throw new Error(document.documentElement.lang === "en" ? er.message_en : er.message); }
        return j;
      });
    });
  }
  function save(body) {
    var isNew = selected.id === null;
    var req = isNew ? send("POST", api + "/zones", body) : send("PATCH", api + "/zones/" + selected.id, body);
    req.then(function (z) {
      if (isNew) zones.push(z); else zones = zones.map(function (x) { return x.id === z.id ? z : x; });
      selected = JSON.parse(JSON.stringify(z));
      fill(selected);
      status.textContent = msg.saved;
      view.dataset.saved = String(z.id);
      table();
      render();
    }).catch(function (err) { status.textContent = (msg.error || "Error") + ": " + err.message; });
  }
  function table() {
    var tb = document.querySelector("#zone-table tbody");
    if (!tb) return;
    while (tb.firstChild) tb.removeChild(tb.firstChild);
    zones.forEach(function (z) {
      var tr = document.createElement("tr");
      tr.dataset.zone = z.id;
      var a = document.createElement("a");
      a.href = "#"; a.textContent = z.name;
      a.addEventListener("click", function (e) { e.preventDefault(); select(z.id); });
      var purposeText = (z.purposes || []).map(function (p) {
        var box = form.querySelector("input[name=purpose][value='" + p + "']");
        return box ? box.parentNode.textContent.trim() : p;
      }).join(", ");
      var option = form.querySelector("select[name=schedule] option[value='" + z.schedule.type + "']");
      var cells = [a, (kinds[z.kind] || z.kind) + (z.direction ? " (" + z.direction + ")" : ""), purposeText,
        option ? option.textContent : z.schedule.type];
      cells.forEach(function (c) { var td = document.createElement("td"); if (typeof c === "string") td.textContent = c; else td.appendChild(c); tr.appendChild(td); });
      tb.appendChild(tr);
    });
  }
  document.querySelectorAll("[data-select]").forEach(function (a) {
    a.addEventListener("click", function (e) { e.preventDefault(); select(parseInt(a.dataset.select, 10)); });
  });
  render();
})();
