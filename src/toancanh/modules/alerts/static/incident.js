// An incident's page: the handling steps, the SOP checklist (done/skip with a note, countdowns), splitting
// alerts off, uploads, the small map, and a notice (or a reload) when someone else changes the incident.
(function () {
  "use strict";
  if (!window.AL) return;
  var B = AL.boot(), M = B.msg || {}, esc = AL.esc;
  var root = document.getElementById("incident-detail");
  if (!root) return;
  var id = B.id;
  var busy = false; // our own request in flight: its events are not "someone else's change"

  function showError(form, text) {
    var el = form.querySelector(".error");
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
  }
  function done() { busy = false; window.location.reload(); }
  function failed(form, buttons) {
    return function (err) {
      busy = false;
      buttons.forEach(function (b) { b.disabled = false; });
      var text = err.message;
      var det = err.body && err.body.error && err.body.error.details;
      if (Array.isArray(det) && det.length && det[0].loc) {
        text += ": " + det.map(function (d) { return Array.isArray(d.loc) ? d.loc[d.loc.length - 1] : d.loc; }).join(", ");
      }
      showError(form, text);
    };
  }
  function buttonsOf(form) { return Array.prototype.slice.call(form.querySelectorAll("button")); }

  // ---- handling steps: POST .../actions/{name} with the form's fields ----
  Array.prototype.forEach.call(document.querySelectorAll("form.al-action"), function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var name = form.dataset.action, body = {}, missing = [];
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || el.type === "submit") return;
        var v = (el.value || "").trim();
        if (el.required && !v) missing.push(el);
        if (v) body[el.name] = v;
      });
      if (name === "merge") {
        body.target_id = body.target_other || body.target_id;
        delete body.target_other;
        if (!body.target_id) missing.push(form.elements.target_id);
      }
      ["agency_id", "target_id"].forEach(function (k) { if (body[k]) body[k] = parseInt(body[k], 10); });
      if (missing.length) {
        missing[0].focus();
        var label = missing[0].closest("label");
        showError(form, M.required + (label ? ": " + label.firstChild.textContent.trim() : ""));
        return;
      }
      var buttons = buttonsOf(form);
      buttons.forEach(function (b) { b.disabled = true; });
      showError(form, "");
      busy = true;
      AL.send("POST", "/api/v1/alerts/incidents/" + id + "/actions/" + encodeURIComponent(name), body, M)
        .then(done, failed(form, buttons));
    });
  });

  // ---- SOP steps: done or skipped (a reason is needed to skip) ----
  Array.prototype.forEach.call(document.querySelectorAll("form.al-step-form"), function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var how = e.submitter && e.submitter.value === "skip" ? "skip" : "done";
      var note = form.elements.note.value.trim();
      if (how === "skip" && !note) { form.elements.note.focus(); showError(form, M.need_note); return; }
      var buttons = buttonsOf(form);
      buttons.forEach(function (b) { b.disabled = true; });
      showError(form, "");
      busy = true;
      AL.send("POST", "/api/v1/alerts/incidents/steps/" + form.dataset.step + "/" + how, { note: note }, M)
        .then(done, failed(form, buttons));
    });
  });

  // ---- split: the ticked alerts become a new incident ----
  var split = document.getElementById("split-form");
  if (split && split.querySelector(".al-split")) {
    split.addEventListener("submit", function (e) {
      e.preventDefault();
      var ids = Array.prototype.slice.call(split.querySelectorAll("input[name=alert_ids]:checked"))
        .map(function (c) { return parseInt(c.value, 10); });
      if (!ids.length) { showError(split, M.need_alerts); return; }
      var body = { alert_ids: ids };
      var title = split.elements.title.value.trim();
      if (title) body.title = title;
      var buttons = buttonsOf(split);
      buttons.forEach(function (b) { b.disabled = true; });
      busy = true;
      AL.send("POST", "/api/v1/alerts/incidents/" + id + "/split", body, M).then(function (d) {
        window.location.href = "/alerts/incidents/" + d.incident.id;
      }, failed(split, buttons));
    });
  }

  // ---- attachments ----
  var upload = document.getElementById("upload-form");
  if (upload) {
    upload.addEventListener("submit", function (e) {
      e.preventDefault();
      var input = upload.elements.file;
      if (!input.files.length) { input.focus(); return; }
      var fd = new FormData();
      fd.append("file", input.files[0]);
      var buttons = buttonsOf(upload);
      buttons.forEach(function (b) { b.disabled = true; });
      busy = true;
      AL.send("POST", "/api/v1/alerts/incidents/" + id + "/attachments", fd, M).then(done, failed(upload, buttons));
    });
  }

  // ---- countdowns: the SLA and each pending step ----
  function tick() {
    var now = Date.now();
    Array.prototype.forEach.call(document.querySelectorAll(".al-countdown[data-due]"), function (el) {
      var left = new Date(el.dataset.due).getTime() - now;
      el.textContent = left < 0 ? "· " + M.overdue + " " + AL.duration(left) : "· " + M.left + " " + AL.duration(left);
      el.classList.toggle("is-overdue", left < 0);
      var li = el.closest(".al-step");
      if (li) li.classList.toggle("is-overdue", left < 0);
    });
  }
  tick();
  setInterval(tick, 15000);

  // ---- map: the incident, its alerts and the cameras nearby ----
  var mapEl = document.getElementById("incident-map");
  if (mapEl && window.L) {
    var hasPoint = B.lat != null && B.lon != null;
    var map = AL.areaMap(mapEl, { center: hasPoint ? [B.lat, B.lon] : null, zoom: 16, fit: !hasPoint });
    (B.cameras || []).forEach(function (c) {
      var off = c.status === "offline";
      L.circleMarker([c.lat, c.lon], { radius: 6, weight: off ? 2 : 1, color: off ? "#ff5d5d" : "#08131f", fillColor: "#2fb7ff", fillOpacity: 0.95 })
        .bindPopup("📷 <b>" + esc(c.name) + "</b><br>" + esc(c.code) + " · " + esc(c.distance_m) + " m · " + esc(c.status)).addTo(map);
    });
    (B.alerts || []).forEach(function (a) {
      L.circleMarker([a.lat, a.lon], { radius: 7, weight: 2, color: "#fff", fillColor: AL.SEV_COLORS[a.severity] || AL.SEV_COLORS.unknown, fillOpacity: 0.9 })
        .bindPopup(esc(a.title)).addTo(map);
    });
    if (hasPoint) {
      // the incident and the cameras around it in view, not closer than a street
      var pts = [[B.lat, B.lon]].concat((B.cameras || []).map(function (c) { return [c.lat, c.lon]; }));
      if (pts.length > 1) map.fitBounds(L.latLngBounds(pts), { padding: [16, 16], maxZoom: 17, animate: false });
      L.marker([B.lat, B.lon], { icon: L.divIcon({ className: "al-inc-icon sev-" + B.severity, html: "<span>!</span>", iconSize: [28, 28] }), zIndexOffset: 500 }).addTo(map);
    }
  }

  // ---- live: someone else changed this incident ----
  var banner = document.getElementById("al-updated");
  document.getElementById("al-reload").addEventListener("click", function () { window.location.reload(); });
  function editing() {
    var el = document.activeElement;
    if (el && /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName)) return true;
    return Array.prototype.some.call(document.querySelectorAll("form textarea, form input:not([type=checkbox]):not([type=number])"), function (f) {
      return f.value && f.value.trim() !== "" && f.type !== "hidden";
    });
  }
  AL.live("toancanh.alerts.>", function (ev) {
    var d = ev.data || {}, s = ev.subject || "";
    var mine = (s.indexOf("toancanh.alerts.incident.") === 0 && (d.case_id === id || d.id === id)) ||
      d.incident_id === id;
    if (!mine || busy) return;
    root.dataset.changed = "1";
    if (editing()) { banner.hidden = false; return; }
    setTimeout(function () { if (!busy && !editing()) window.location.reload(); else banner.hidden = false; }, 800);
  });
})();
