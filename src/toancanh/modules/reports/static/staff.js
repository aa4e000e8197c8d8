// Staff pages of field reports: the queue map (grid-clustered, coloured by deadline) and, on a report's
// page, the step forms (assign, accept, resolve with evidence, reject, merge...) and moderation, all sent
// to the JSON API with the session's CSRF token.
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
      if (k === "agency_id" || k === "target_id" || k === "target_other") body[k === "target_other" ? "target_id" : k] = parseInt(v, 10);
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
