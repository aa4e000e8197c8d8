// The live alert console: the alert list (newest first, severity bands, acknowledge in one click), the map
// of alerts, open incidents, cameras and sensors, and the counts; kept live by the event stream, with a beep
// (WebAudio, no file) for severe and extreme alerts once the operator has allowed sound.
(function () {
  "use strict";
  if (!window.AL) return;
  var B = AL.boot(), M = B.msg || {}, esc = AL.esc;
  var list = document.getElementById("alert-list");
  if (!list) return;
  var empty = document.getElementById("al-empty");
  var errorEl = document.getElementById("al-error");
  var incBody = document.getElementById("incident-list");
  var onlyActive = document.getElementById("al-only-active");
  var units = B.units || {};
  var alerts = {}, rows = {}, incidents = {}, assets = {};
  var baseTitle = document.title;
  var ONLY_KEY = "tc.alerts.onlyActive", MUTE_KEY = "tc.alerts.muted";

  function showError(text) { errorEl.textContent = text || ""; errorEl.hidden = !text; }
  function store(key, value) { try { localStorage.setItem(key, value); } catch (e) { /* private mode */ } }
  function stored(key) { try { return localStorage.getItem(key); } catch (e) { return null; } }

  // ---- sound ----
  var AC = window.AudioContext || window.webkitAudioContext;
  var audio = null;
  var muted = stored(MUTE_KEY) === "1";
  var unlockBtn = document.getElementById("al-sound-unlock");
  var muteBtn = document.getElementById("al-mute");
  function soundReady() { return !!audio && audio.state === "running"; }
  function soundUI() {
    var ready = soundReady();
    unlockBtn.hidden = ready || !AC;
    muteBtn.hidden = !ready;
    muteBtn.setAttribute("aria-pressed", muted ? "true" : "false");
    muteBtn.textContent = muted ? "🔇 " + M.unmute : "🔊 " + M.mute;
    muteBtn.classList.toggle("is-muted", muted);
    list.dataset.sound = ready ? (muted ? "muted" : "on") : "locked";
  }
  // Browsers start audio only after a user gesture: any click or key on the page unlocks it.
  function unlock() {
    if (!AC) return;
    if (!audio) { try { audio = new AC(); } catch (e) { return; } audio.onstatechange = soundUI; }
    if (audio.state !== "running") audio.resume().then(soundUI, soundUI);
    soundUI();
  }
  document.addEventListener("click", unlock, true);
  document.addEventListener("keydown", unlock, true);
  unlockBtn.addEventListener("click", function () { // asking for sound also lifts a mute left from before
    muted = false;
    store(MUTE_KEY, "0");
    soundUI();
  });
  muteBtn.addEventListener("click", function () {
    muted = !muted;
    store(MUTE_KEY, muted ? "1" : "0");
    soundUI();
  });
  function beep(severity) {
    list.dataset.soundRequests = String((parseInt(list.dataset.soundRequests || "0", 10)) + 1);
    if (muted || !soundReady()) return;
    var tones = severity === "extreme" ? [988, 740, 988, 740, 988] : [880, 660];
    var t0 = audio.currentTime + 0.02;
    tones.forEach(function (freq, i) {
      var osc = audio.createOscillator(), gain = audio.createGain(), at = t0 + i * 0.19;
      osc.type = "square";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.18, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.17);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start(at);
      osc.stop(at + 0.18);
    });
    list.dataset.beeps = String((parseInt(list.dataset.beeps || "0", 10)) + 1);
  }
  soundUI();

  // ---- map ----
  var mapEl = document.getElementById("console-map");
  var map = null, alertLayer = null, incLayer = null, alertMarkers = {}, incMarkers = {};
  if (mapEl && window.L) {
    map = AL.areaMap(mapEl, { center: B.center, labels: true });
    alertLayer = L.layerGroup().addTo(map);
    incLayer = L.layerGroup().addTo(map);
    AL.devices(map, mapEl, M).then(function (byId) { assets = byId; Object.keys(alerts).forEach(function (id) { draw(alerts[id]); }); });
    window.addEventListener("resize", function () { map.invalidateSize(); });
  }

  function place(a) {
    var parts = [];
    if (units[a.unit_id]) parts.push(units[a.unit_id]);
    var asset = a.asset_id != null ? assets[a.asset_id] : null;
    if (asset) parts.push(asset.name || asset.code);
    return parts.join(" · ");
  }
  function title(a) { return (AL.lang === "en" ? (a.title_en || a.title) : a.title) || a.category; }
  function when(iso) { return AL.today(iso) ? AL.time(iso) : AL.dateTime(iso); }

  function alertMarker(a) {
    if (!alertLayer) return;
    var m = alertMarkers[a.id];
    if (m) { alertLayer.removeLayer(m); delete alertMarkers[a.id]; }
    if (a.lat == null || a.lon == null || a.status === "resolved") return;
    m = L.circleMarker([a.lat, a.lon], {
      radius: a.severity === "extreme" || a.severity === "severe" ? 10 : 8, weight: 2, color: "#fff",
      fillColor: AL.SEV_COLORS[a.severity] || AL.SEV_COLORS.unknown, fillOpacity: 0.95,
      className: "al-mk st-" + a.status
    }).bindPopup("<b>" + esc(title(a)) + "</b><br>" + esc(place(a)) + "<br>" + esc(when(a.first_at)) +
      (a.count > 1 ? " · ×" + a.count : "") + (a.incident_id ? '<br><a href="/alerts/incidents/' + a.incident_id + '">' + esc(M.incident) + " " + esc(incLabel(a.incident_id)) + "</a>" : ""));
    m.addTo(alertLayer);
    alertMarkers[a.id] = m;
  }

  function incLabel(id) { return incidents[id] ? incidents[id].code : "#" + id; }

  // ---- the alert list ----
  function rowHTML(a) {
    var status;
    if (a.status === "acknowledged") {
      status = '<span class="al-status is-ack">✔ ' + esc(M.acked_by) + " <b class=\"al-ack-by\">" + esc(a.acknowledged_by) + "</b> " +
        esc(M.at) + " " + esc(AL.shortTime(a.acknowledged_at)) + "</span>";
    } else {
      status = '<span class="al-status is-new">' + esc((B.status || {})[a.status] || a.status) + "</span>";
    }
    var actions = "";
    if (a.status === "active" && B.can_ack) {
      actions += '<button type="button" class="al-btn al-ack" data-id="' + a.id + '">' + esc(M.ack) + "</button>";
    }
    if (a.incident_id) {
      actions += '<a class="al-inc-link" href="/alerts/incidents/' + a.incident_id + '">' + esc(M.incident) + " " + esc(incLabel(a.incident_id)) + " →</a>";
    }
    return '<time class="al-time" datetime="' + esc(a.first_at) + '" title="' + esc(AL.dateTime(a.last_at)) + '">' + esc(when(a.first_at)) + "</time>" +
      '<div class="al-main"><span class="al-sev">' + esc((B.severity || {})[a.severity] || a.severity) + "</span> " +
      '<b class="al-title">' + esc(title(a)) + "</b>" +
      '<small class="al-place">' + esc(place(a)) + "</small></div>" +
      '<span class="al-count' + (a.count > 1 ? " many" : "") + '" title="' + esc(a.count) + '">×' + esc(a.count) + "</span>" +
      status + '<div class="al-actions">' + actions + "</div>";
  }

  function draw(a) {
    var li = rows[a.id];
    if (!li) return;
    li.className = "al-row sev-" + a.severity + " st-" + a.status + (li.classList.contains("al-new") ? " al-new" : "");
    li.innerHTML = rowHTML(a);
    alertMarker(a);
  }

  function upsert(a, fresh) {
    if (!a || a.id == null) return;
    if (a.status === "resolved") { remove(a.id); return; }
    alerts[a.id] = a;
    var li = rows[a.id];
    if (!li) {
      li = document.createElement("li");
      li.dataset.id = String(a.id);
      li.tabIndex = 0;
      rows[a.id] = li;
      var next = null;
      for (var i = 0; i < list.children.length; i++) {
        if (parseInt(list.children[i].dataset.id, 10) < a.id) { next = list.children[i]; break; }
      }
      list.insertBefore(li, next);
      if (fresh) {
        li.classList.add("al-new");
        setTimeout(function () { li.classList.remove("al-new"); }, 6000);
      }
    }
    draw(a);
  }

  function remove(id) {
    delete alerts[id];
    if (rows[id]) { rows[id].remove(); delete rows[id]; }
    if (alertMarkers[id] && alertLayer) { alertLayer.removeLayer(alertMarkers[id]); delete alertMarkers[id]; }
  }

  function counts() {
    var active = 0, acked = 0;
    Object.keys(alerts).forEach(function (id) {
      if (alerts[id].status === "active") active += 1;
      else if (alerts[id].status === "acknowledged") acked += 1;
    });
    var bySev = { extreme: 0, severe: 0, moderate: 0, minor: 0 }, open = 0;
    Object.keys(incidents).forEach(function (id) {
      open += 1;
      var s = incidents[id].severity;
      if (s in bySev) bySev[s] += 1;
    });
    document.getElementById("cnt-active").textContent = String(active);
    document.getElementById("cnt-ack").textContent = String(acked);
    document.getElementById("cnt-incidents").textContent = String(open);
    Object.keys(bySev).forEach(function (s) {
      var el = document.getElementById("cnt-inc-" + s);
      el.textContent = String(bySev[s]);
      el.parentNode.classList.toggle("is-zero", bySev[s] === 0);
    });
    document.getElementById("cnt-active").parentNode.classList.toggle("is-hot", active > 0);
    document.getElementById("al-total").textContent = String(active + acked);
    list.dataset.count = String(active + acked);
    empty.hidden = active + acked > 0;
    document.title = active > 0 ? "(" + active + ") " + baseTitle : baseTitle;
  }

  function loadAlerts() {
    return AL.getJSON("/api/v1/alerts?live=true&limit=500").then(function (d) {
      var seen = {};
      (d.items || []).forEach(function (a) { seen[a.id] = true; upsert(a, false); });
      Object.keys(alerts).forEach(function (id) { if (!seen[id]) remove(id); });
      list.dataset.loaded = "1";
      showError("");
      counts();
    }).catch(function (e) { showError(e.message); });
  }

  // ---- open incidents ----
  function slaBadge(r) {
    if (!r.due_at) return "";
    var left = new Date(r.due_at).getTime() - Date.now();
    var cls = left < 0 ? "overdue" : (r.sla_status || "ok");
    var text = left < 0 ? (B.sla || {}).overdue + " " + AL.duration(left) : AL.duration(left);
    return '<span class="al-sla sla-' + esc(cls) + '" data-due="' + esc(r.due_at) + '">' + esc(text) + "</span>";
  }
  function incidentMarker(r) {
    if (!incLayer || r.lat == null || r.lon == null) return;
    var icon = L.divIcon({ className: "al-inc-icon sev-" + r.severity, html: "<span>!</span>", iconSize: [26, 26] });
    var m = L.marker([r.lat, r.lon], { icon: icon, title: r.code, zIndexOffset: 500 })
      .bindPopup('<a href="/alerts/incidents/' + r.id + '"><b>' + esc(r.code) + "</b></a><br>" + esc(AL.lang === "en" ? (r.title_en || r.title) : r.title) +
        "<br>" + esc((B.states || {})[r.state] || r.state));
    m.addTo(incLayer);
    incMarkers[r.id] = m;
  }
  function renderIncidents(items) {
    incidents = {};
    items.forEach(function (r) { incidents[r.id] = r; });
    if (incLayer) { incLayer.clearLayers(); incMarkers = {}; items.forEach(incidentMarker); }
    if (incBody) {
      incBody.innerHTML = items.length ? items.map(function (r) {
        return '<tr class="sev-' + esc(r.severity) + '" data-id="' + r.id + '"><td><a href="/alerts/incidents/' + r.id + '">' + esc(r.code) + "</a></td>" +
          "<td>" + esc(AL.lang === "en" ? (r.title_en || r.title) : r.title) + '<small class="muted"> · ' + esc(units[r.unit_id] || "") + "</small></td>" +
          '<td><span class="al-state st-' + esc(r.state) + '">' + esc((B.states || {})[r.state] || r.state) + "</span></td>" +
          "<td>" + slaBadge(r) + "</td></tr>";
      }).join("") : '<tr><td colspan="4" class="muted">' + esc(M.no_incidents) + "</td></tr>";
      incBody.dataset.count = String(items.length);
    }
    Object.keys(alerts).forEach(function (id) { draw(alerts[id]); });
    counts();
  }
  function loadIncidents() {
    if (!B.can_incidents && !incBody) return Promise.resolve();
    return AL.getJSON("/api/v1/alerts/incidents?open_only=true&limit=200").then(function (d) {
      renderIncidents(Array.isArray(d) ? d : (d.items || []));
    }).catch(function () { /* no incident access: the list stays empty */ });
  }

  // ---- acknowledge ----
  list.addEventListener("click", function (e) {
    var btn = e.target.closest("button.al-ack");
    if (btn) {
      var id = parseInt(btn.dataset.id, 10);
      btn.disabled = true;
      AL.send("POST", "/api/v1/alerts/" + id + "/ack", null, M).then(function (a) {
        showError("");
        upsert(a);
        counts();
      }).catch(function (err) {
        btn.disabled = false;
        if (err.status === 409) {
          AL.getJSON("/api/v1/alerts/" + id).then(function (a) { upsert(a); counts(); });
        } else {
          showError(err.message);
        }
      });
      return;
    }
    if (e.target.closest("a")) return;
    var li = e.target.closest("li.al-row");
    if (li) focusAlert(parseInt(li.dataset.id, 10));
  });
  list.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || e.target.tagName !== "LI") return;
    focusAlert(parseInt(e.target.dataset.id, 10));
  });
  function focusAlert(id) {
    var m = alertMarkers[id];
    if (!map || !m) return;
    map.setView(m.getLatLng(), Math.max(map.getZoom(), 16));
    m.openPopup();
  }

  // ---- filter ----
  function applyFilter() {
    list.classList.toggle("only-active", onlyActive.checked);
    store(ONLY_KEY, onlyActive.checked ? "1" : "0");
  }
  onlyActive.checked = stored(ONLY_KEY) === "1";
  onlyActive.addEventListener("change", applyFilter);
  applyFilter();

  // ---- live ----
  var pending = null;
  function refreshSoon() {
    clearTimeout(pending);
    pending = setTimeout(function () { loadAlerts(); loadIncidents(); }, 400);
  }
  var dot = document.getElementById("al-live-dot");
  AL.live("toancanh.alerts.>", function (ev) {
    var s = ev.subject || "", d = ev.data || {};
    list.dataset.received = String((parseInt(list.dataset.received || "0", 10)) + 1);
    if (s === "toancanh.alerts.alert.raised") {
      upsert(d, true);
      counts();
      if (d.sound) beep(d.severity);
    } else if (s === "toancanh.alerts.alert.acknowledged") {
      var a = alerts[d.id];
      if (a) {
        a.status = "acknowledged";
        a.acknowledged_by = d.acknowledged_by;
        a.acknowledged_at = d.acknowledged_at;
        upsert(a);
        counts();
      }
    } else if (s === "toancanh.alerts.alert.resolved" || s === "toancanh.alerts.alert.cleared") {
      remove(d.id);
      counts();
    } else if (s.indexOf("toancanh.alerts.incident.") === 0) {
      refreshSoon(); // acknowledging or resolving an incident changes its alerts too
    }
  }, function (up) {
    if (dot) dot.classList.toggle("on", up);
    list.dataset.live = up ? "1" : "0";
    if (up) refreshSoon(); // after a reconnection, catch up with what was missed
  });

  // The stream is opened first so that nothing raised while the lists load is missed.
  loadAlerts();
  loadIncidents();
  setInterval(function () { loadAlerts(); loadIncidents(); }, 60000);
  setInterval(function () {
    Array.prototype.forEach.call(document.querySelectorAll(".al-sla[data-due]"), function (el) {
      var left = new Date(el.dataset.due).getTime() - Date.now();
      if (left < 0) { el.className = "al-sla sla-overdue"; el.textContent = (B.sla || {}).overdue + " " + AL.duration(left); }
      else el.textContent = AL.duration(left);
    });
  }, 30000);
})();
