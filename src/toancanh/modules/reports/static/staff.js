// Staff pages of field reports: the queue map (grid-clustered, coloured by deadline) and its bulk actions
// and, on a report's page, the step forms (assign, accept, extend, resolve with evidence, reject, merge...),
// moderation and the blur tool, all sent to the JSON API with the session's CSRF token.
(function () {
  "use strict";
  if (!window.RP) return;
  var T = RP.T;
  var COLORS = { ok: "#2fb7ff", warning: "#ffb547", overdue: "#ff5d5d", done: "#35d07f" };
  var RANK = { done: 0, ok: 1, warning: 2, overdue: 3 };
  var FINISHED = ["resolved", "closed", "rejected", "merged"];

  // ---- queue map ----
  var qEl = document.getElementById("queue-map");
  if (qEl && window.L) {
    var rows = [];
    try { rows = JSON.parse(document.getElementById("queue-data").textContent || "[]"); } catch (e) { rows = []; }
    var pts = rows.map(function (r) {
      var cls = FINISHED.indexOf(r.state) >= 0 ? "done" : (r.sla_status || "ok");
      return {
        lat: r.lat, lon: r.lon, cls: cls, color: COLORS[cls],
        popup: '<a href="/reports/' + encodeURIComponent(r.id) + '"><b>' + RP.esc(r.tracking_code) + "</b></a> " +
          RP.esc(r.icon) + " " + RP.esc(r.category_name) + "<br>" +
          RP.esc(RP.lang === "en" ? r.state_label_en : r.state_label) + "<br><small>" + RP.esc(String(r.description).slice(0, 120)) + "</small>"
      };
    });
    // The area served and every report in view: the outline first, widened to reports outside it.
    var qmap = RP.areaMap(qEl, { fit: false });
    var fit = function () {
      var b = qmap.areaBounds ? L.latLngBounds(qmap.areaBounds.getSouthWest(), qmap.areaBounds.getNorthEast()) : null;
      pts.forEach(function (p) { b = b ? b.extend([p.lat, p.lon]) : L.latLngBounds([p.lat, p.lon], [p.lat, p.lon]); });
      if (b) qmap.fitBounds(b, { padding: [12, 12], maxZoom: 16, animate: false });
    };
    fit();
    var clusters = RP.cluster(qmap, qEl, pts, { rank: function (p) { return RANK[p.cls] || 0; } });
    qmap.whenArea.then(function () { fit(); clusters.setPoints(pts); });
  }

  // ---- bulk actions of the queue: tick reports, choose a step, apply; each report succeeds on its own ----
  var bulk = document.getElementById("bulk-bar");
  if (bulk) {
    var picks = function () { return Array.prototype.slice.call(document.querySelectorAll("input.rq-pick")); };
    var chosen = function () { return picks().filter(function (c) { return c.checked; }).map(function (c) { return parseInt(c.value, 10); }); };
    var all = document.getElementById("bulk-all");
    var apply = document.getElementById("bulk-apply");
    var actionSel = document.getElementById("bulk-action");
    var refresh = function () {
      var n = chosen().length;
      document.getElementById("bulk-count").textContent = String(n);
      apply.disabled = n === 0;
      if (all) all.checked = n > 0 && n === picks().length;
    };
    var showFields = function () {
      Array.prototype.forEach.call(bulk.querySelectorAll(".bulk-for"), function (el) {
        el.hidden = !el.classList.contains("bulk-" + actionSel.value);
      });
    };
    picks().forEach(function (c) { c.addEventListener("change", refresh); });
    if (all) all.addEventListener("change", function () { picks().forEach(function (c) { c.checked = all.checked; }); refresh(); });
    actionSel.addEventListener("change", showFields);
    showFields();
    refresh();
    bulk.addEventListener("submit", function (e) {
      e.preventDefault();
      var ids = chosen(), err = bulk.querySelector(".rp-error"), list = document.getElementById("bulk-results");
      RP.show(err, "");
      if (!ids.length) { RP.show(err, T.need_selection); return; }
      var action = actionSel.value, body = { ids: ids, action: action };
      if (action === "approve" || action === "hide") { body.action = "moderate"; body.approve = action === "approve"; }
      if (action === "assign") {
        var agency = bulk.elements.namedItem("agency_id").value;
        if (!agency) { RP.show(err, T.need_agency); return; }
        body.agency_id = parseInt(agency, 10);
      }
      if (action === "reject") body.reason = bulk.elements.namedItem("reason").value;
      apply.disabled = true;
      RP.send("POST", "/api/v1/reports/bulk", body).then(function (res) {
        var failed = res.results.filter(function (r) { return !r.ok; });
        list.innerHTML = '<li class="ok">' + RP.esc(T.bulk_done) + ": " + res.ok + "</li>" + failed.map(function (r) {
          return '<li class="error">#' + RP.esc(r.id) + " " + RP.esc(T.bulk_failed) + ": " + RP.esc(RP.lang === "en" ? r.error_en : r.error) + "</li>";
        }).join("");
        list.hidden = false;
        if (!failed.length) window.location.reload();
        else apply.disabled = false;
      }).catch(function (x) { apply.disabled = false; RP.show(err, x.message); });
    });
  }

  // ---- a report ----
  var detail = document.getElementById("report-detail");
  if (!detail) return;
  var id = detail.dataset.id;
  var base = "/api/v1/reports/" + encodeURIComponent(id);

  var dm = document.getElementById("detail-map");
  if (dm && window.L) {
    var lat = parseFloat(dm.dataset.lat), lon = parseFloat(dm.dataset.lon);
    var m = RP.areaMap(dm, { fit: false, center: [lat, lon], zoom: 15 });
    L.circleMarker([lat, lon], { radius: 9, color: "#fff", weight: 2, fillColor: "#ff5d5d", fillOpacity: 1 }).addTo(m);
  }

  function busy(btn, on, label) {
    if (!btn) return;
    if (on) { btn.dataset.label = btn.textContent; btn.textContent = label || T.sending; }
    else if (btn.dataset.label) { btn.textContent = btn.dataset.label; }
    btn.disabled = on;
  }

  // The transition's body: only the fields the API knows (it refuses others).
  function bodyOf(form, name) {
    var fd = new FormData(form), body = {}, evidence = [];
    fd.forEach(function (v, k) {
      if (typeof v !== "string") return;
      v = v.trim();
      if (!v) return;
      if (k === "agency_id" || k === "target_id" || k === "target_other" || k === "days") body[k === "target_other" ? "target_id" : k] = parseInt(v, 10);
      else if (k === "evidence") evidence.push(v);
      else if (k === "reason" || k === "answer" || k === "comment") body[k] = v;
    });
    if (name === "reject") {
      var code = fd.get("reason_code"), more = String(fd.get("reason_detail") || "").trim();
      body.reason = code + (more ? ": " + more : "");
    }
    if (evidence.length) body.evidence = evidence;
    return body;
  }

  // Result photos go up first (once: their references are kept on the form if the step itself fails).
  function uploadEvidence(form) {
    var input = form.querySelector("input[type=file]");
    var kept = form.dataset.uploaded ? form.dataset.uploaded.split(",") : [];
    if (!input || !input.files.length) return Promise.resolve(kept);
    return Promise.all(Array.prototype.map.call(input.files, function (f) { return RP.shrink(f, false); }))
      .then(function (blobs) {
        var fd = new FormData();
        blobs.forEach(function (b, i) { fd.append("photos", b, "ket-qua-" + (i + 1) + ".jpg"); });
        return RP.send("POST", base + "/evidence", fd);
      })
      .then(function (list) {
        var all = kept.concat(list.map(function (p) { return p.sha256; }));
        form.dataset.uploaded = all.join(",");
        input.value = "";
        return all;
      });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form.rp-action"), function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var name = form.dataset.action, err = form.querySelector(".rp-error"), btn = form.querySelector("button[type=submit]");
      var body = bodyOf(form, name);
      RP.show(err, "");
      var answer = form.elements.namedItem("answer");
      if (answer && answer.value.trim().length < 20) { RP.show(err, answer.getAttribute("placeholder")); answer.focus(); return; }
      busy(btn, true, name === "resolve" ? T.uploading : T.sending);
      var ready = name === "resolve" ? uploadEvidence(form) : Promise.resolve([]);
      ready.then(function (shas) {
        if (name === "resolve") {
          body.evidence = (body.evidence || []).concat(shas);
          if (!body.evidence.length) throw new Error(T.need_evidence);
        }
        busy(btn, true, T.sending);
        return RP.send("POST", base + "/actions/" + encodeURIComponent(name), body);
      }).then(function () {
        window.location.reload();
      }).catch(function (x) { busy(btn, false); RP.show(err, x.message); });
    });
  });

  // Blur tool: drag rectangles over a photo (mouse, pen or finger), saved as fractions of its size.
  Array.prototype.forEach.call(document.querySelectorAll(".rd-blur"), function (tool) {
    var stage = tool.querySelector(".rd-blur-stage"), err = tool.querySelector(".rp-error");
    var boxes = [], start = null, live = null;
    var count = function () { tool.querySelector(".rd-blur-count").textContent = String(boxes.length); };
    var at = function (e) {
      var r = stage.getBoundingClientRect();
      return { x: Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)), y: Math.min(1, Math.max(0, (e.clientY - r.top) / r.height)) };
    };
    var place = function (el, b) {
      el.style.left = (b.x * 100) + "%"; el.style.top = (b.y * 100) + "%";
      el.style.width = (b.w * 100) + "%"; el.style.height = (b.h * 100) + "%";
    };
    var span = function (a, b) {
      return { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), w: Math.abs(a.x - b.x), h: Math.abs(a.y - b.y) };
    };
    stage.addEventListener("pointerdown", function (e) {
      if (boxes.length >= 20) return;
      e.preventDefault();
      start = at(e);
      live = document.createElement("div");
      live.className = "rd-blur-box";
      stage.appendChild(live);
      place(live, { x: start.x, y: start.y, w: 0, h: 0 });
      stage.setPointerCapture(e.pointerId);
    });
    stage.addEventListener("pointermove", function (e) { if (start) place(live, span(start, at(e))); });
    var finish = function (e) {
      if (!start) return;
      var b = span(start, at(e));
      start = null;
      if (b.w < 0.01 || b.h < 0.01) { live.remove(); return; }
      boxes.push({ box: b, el: live });
      count();
    };
    stage.addEventListener("pointerup", finish);
    stage.addEventListener("pointercancel", function () { if (live && start) live.remove(); start = null; });
    tool.querySelector(".rd-blur-undo").addEventListener("click", function () {
      var last = boxes.pop();
      if (last) last.el.remove();
      count();
    });
    var save = function (btn, list) {
      RP.show(err, "");
      busy(btn, true);
      RP.send("POST", base + "/photos/" + encodeURIComponent(tool.dataset.sha) + "/blur", { boxes: list })
        .then(function () { window.location.reload(); })
        .catch(function (x) { busy(btn, false); RP.show(err, x.message); });
    };
    var saveBtn = tool.querySelector(".rd-blur-save");
    saveBtn.addEventListener("click", function () {
      if (!boxes.length) { RP.show(err, T.need_boxes); return; }
      save(saveBtn, boxes.map(function (b) {
        return { x: +b.box.x.toFixed(4), y: +b.box.y.toFixed(4), w: +Math.min(b.box.w, 1 - b.box.x).toFixed(4), h: +Math.min(b.box.h, 1 - b.box.y).toFixed(4) };
      }));
    });
    var clear = tool.querySelector(".rd-blur-clear");
    if (clear) clear.addEventListener("click", function () { save(clear, []); });
  });

  var mod = document.getElementById("moderation");
  if (mod) {
    mod.addEventListener("submit", function (e) {
      e.preventDefault();
      var btn = e.submitter || document.getElementById("mod-approve");
      var approve = btn.value === "1";
      var shas = Array.prototype.map.call(mod.querySelectorAll("input[name=public_photos]:checked"), function (i) { return i.value; });
      var err = mod.querySelector(".rp-error");
      RP.show(err, "");
      busy(btn, true);
      RP.send("POST", base + "/moderation", { approve: approve, public_photos: approve ? shas : [] })
        .then(function () { window.location.reload(); })
        .catch(function (x) { busy(btn, false); RP.show(err, x.message); });
    });
  }
})();
