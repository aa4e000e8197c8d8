// The citizen's phone page: category, photos (downscaled before upload), location (GPS, a tap on the map,
// or the photo's EXIF read by the server), description, optional contact, nearby duplicates, then send.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form || !window.RP) return;
  var T = RP.T;
  var MAX_PHOTOS = 5;
  var $ = function (id) { return document.getElementById(id); };
  var field = function (name) { return form.elements.namedItem(name); };
  var errorBox = $("form-error"), latIn = $("lat"), lonIn = $("lon"), status = $("loc-status");
  var submitBtn = $("submit-btn"), dupes = $("dupes"), dupeList = $("dupe-list");
  var photos = [];
  var checkedKey = null, nearbyList = [], confirmedKey = null, nearbyTimer = null, source = "", accuracy = null;

  function fail(text, anchor) {
    RP.show(errorBox, text);
    (anchor || errorBox).scrollIntoView({ behavior: "smooth", block: "center" });
  }

  function category() { return form.querySelector("input[name=category]:checked"); }
  function categoryName() { var c = category(); return c ? c.dataset.name : ""; }
  form.addEventListener("change", function (e) {
    if (e.target.name === "category") { RP.show(errorBox, ""); scheduleNearby(); }
  });

  // ---- photos ----
  function drawThumbs() {
    var ul = $("thumbs");
    ul.innerHTML = "";
    photos.forEach(function (p, i) {
      var li = document.createElement("li");
      var img = document.createElement("img");
      img.src = p.url;
      img.alt = "";
      var x = document.createElement("button");
      x.type = "button";
      x.className = "thumb-x";
      x.textContent = "×";
      x.setAttribute("aria-label", T.remove);
      x.addEventListener("click", function () {
        URL.revokeObjectURL(p.url);
        photos.splice(i, 1);
        drawThumbs();
      });
      li.appendChild(img);
      li.appendChild(x);
      ul.appendChild(li);
    });
    ul.dataset.count = String(photos.length);
    exifHint();
  }
  function addFiles(list) {
    RP.show(errorBox, "");
    Array.prototype.forEach.call(list, function (f) {
      if (f.type && f.type.indexOf("image/") !== 0) { RP.show(errorBox, T.not_image); return; }
      if (photos.length >= MAX_PHOTOS) { RP.show(errorBox, T.max_photos); return; }
      photos.push({ file: f, url: URL.createObjectURL(f) });
    });
    drawThumbs();
  }
  ["photo-camera", "photo-gallery"].forEach(function (id) {
    var input = $(id);
    input.addEventListener("change", function () { addFiles(input.files); input.value = ""; });
  });

  // ---- location ----
  var mapEl = $("pick-map"), map = null, marker = null, areaFc = null;
  if (window.L && mapEl) {
    map = RP.areaMap(mapEl, { labels: true });
    map.whenArea.then(function (fc) {
      areaFc = fc;
      if (marker) map.setView(marker.getLatLng(), Math.max(map.getZoom(), 15), { animate: false });
      describe();
    });
    map.on("click", function (e) { setLocation(e.latlng.lat, e.latlng.lng, "map"); });
  }
  function exifHint() {
    $("exif-note").classList.toggle("on", !latIn.value && photos.length > 0);
  }
  function setLocation(lat, lon, src, acc) {
    latIn.value = lat.toFixed(7);
    lonIn.value = lon.toFixed(7);
    source = src;
    accuracy = acc || null;
    if (map) {
      if (!marker) {
        var pin = L.divIcon({ className: "rp-pin", html: "<span></span>", iconSize: [30, 40], iconAnchor: [15, 38] });
        marker = L.marker([lat, lon], { draggable: true, icon: pin, keyboard: false }).addTo(map);
        marker.on("dragend", function () { var ll = marker.getLatLng(); setLocation(ll.lat, ll.lng, "map"); });
      } else {
        marker.setLatLng([lat, lon]);
      }
    }
    describe();
    scheduleNearby();
  }
  function describe() {
    var lat = parseFloat(latIn.value), lon = parseFloat(lonIn.value);
    exifHint();
    if (isNaN(lat) || isNaN(lon)) {
      status.textContent = status.dataset.empty;
      status.className = "loc-status";
      return;
    }
    var place = areaFc ? RP.placeOf(areaFc, lat, lon) : null;
    var outside = !!(areaFc && areaFc.features.length && !place);
    var text = (source === "gps" ? T.loc_gps : T.loc_map) + (place ? ": " + place.name : "") +
      " (" + lat.toFixed(5) + ", " + lon.toFixed(5) + ")";
    if (accuracy) text += " · " + T.loc_accuracy + " " + Math.round(accuracy) + " m";
    if (outside) text += " — " + T.loc_outside;
    status.textContent = text;
    status.className = "loc-status " + (outside ? "bad" : "ok");
    status.dataset.source = source;
  }
  $("gps-btn").addEventListener("click", function () {
    if (!navigator.geolocation) { status.textContent = T.gps_none; status.className = "loc-status bad"; return; }
    status.textContent = T.gps_wait;
    status.className = "loc-status";
    navigator.geolocation.getCurrentPosition(function (pos) {
      setLocation(pos.coords.latitude, pos.coords.longitude, "gps", pos.coords.accuracy);
      if (map) map.setView([pos.coords.latitude, pos.coords.longitude], Math.max(map.getZoom(), 15), { animate: false });
    }, function (err) {
      status.textContent = err.code === 1 ? T.gps_denied : T.gps_failed;
      status.className = "loc-status bad";
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });

  // ---- description ----
  var desc = $("description");
  desc.addEventListener("input", function () { $("desc-count").textContent = String(desc.value.length); });

  // ---- nearby reports of the same kind ("đã có người phản ánh") ----
  function currentKey() {
    var c = category();
    return c && latIn.value ? c.value + "|" + latIn.value + "|" + lonIn.value : null;
  }
  function scheduleNearby() {
    clearTimeout(nearbyTimer);
    nearbyTimer = setTimeout(checkNearby, 400);
  }
  function checkNearby() {
    var key = currentKey();
    if (!key) { dupes.hidden = true; return Promise.resolve([]); }
    if (key === checkedKey) return Promise.resolve(nearbyList);
    var url = "/api/v1/reports/nearby?category=" + encodeURIComponent(category().value) +
      "&lat=" + encodeURIComponent(latIn.value) + "&lon=" + encodeURIComponent(lonIn.value);
    return RP.send("GET", url).then(function (list) {
      if (currentKey() !== key) return [];
      checkedKey = key;
      nearbyList = list || [];
      drawDupes(nearbyList);
      return nearbyList;
    }, function () { return []; });
  }
  function drawDupes(list) {
    dupeList.innerHTML = list.map(function (n) {
      var name = RP.lang === "en" ? (n.category.name_en || n.category.name) : n.category.name;
      var ref = RP.esc(String(n.id));
      return '<li class="dupe"><div class="dupe-top"><span aria-hidden="true">' + RP.esc(n.category.icon) + "</span> <b>" +
        RP.esc(name) + '</b> <span class="state-badge st-' + RP.esc(n.state) + '">' +
        RP.esc(RP.lang === "en" ? n.state_label_en : n.state_label) + "</span></div>" +
        (n.description ? '<p class="desc">' + RP.esc(n.description) + "</p>" : "") +
        '<p class="hint">' + RP.esc(n.distance_m) + " m " + RP.esc(T.distance) + " · " + RP.esc(n.supporters) + " " +
        RP.esc(T.supporters) + " · " + RP.esc(RP.day(n.created_at)) + " · #" + ref + "</p>" +
        '<button type="button" class="btn btn-primary follow-btn" data-id="' + ref + '">' + RP.esc(T.follow) + "</button></li>";
    }).join("");
    dupes.hidden = !list.length;
    RP.show($("follow-done"), "");
  }
  dupeList.addEventListener("click", function (e) {
    var btn = e.target.closest ? e.target.closest(".follow-btn") : null;
    if (!btn) return;
    var phone = field("phone").value.trim();
    if (!/^[0-9+ ]*$/.test(phone)) { fail(T.bad_phone, field("phone")); return; }
    btn.disabled = true;
    RP.send("POST", "/api/v1/reports/public/" + encodeURIComponent(btn.dataset.id) + "/follow",
      { phone: phone, email: field("email").value.trim() })
      .then(function (res) {
        // Following does not hand out the first reporter's private tracking code: the follower is told
        // about progress through the phone or e-mail they gave, and the public number identifies the report.
        var p = $("follow-done");
        p.textContent = T.followed + " " + res.supporters + " " + T.people + ". #" + res.id;
        p.hidden = false;
      })
      .catch(function (err) { btn.disabled = false; fail(err.message); });
  });
  $("submit-anyway").addEventListener("click", function () {
    confirmedKey = currentKey();
    if (validate()) send();
  });

  // ---- send ----
  function validate() {
    var problem = null, anchor = null;
    if (!category()) { problem = T.need_category; anchor = $("step-category"); }
    else if (desc.value.trim().length < 10) { problem = T.need_description; anchor = desc; }
    else if (!latIn.value && !photos.length) { problem = T.need_location; anchor = $("step-location"); }
    else if (!/^[0-9+ ]*$/.test(field("phone").value.trim())) { problem = T.bad_phone; anchor = field("phone"); }
    if (problem) { fail(problem, anchor); return false; }
    RP.show(errorBox, "");
    return true;
  }
  function busy(on, label) {
    submitBtn.disabled = on;
    submitBtn.textContent = on ? (label || T.sending) : T.send;
    form.setAttribute("aria-busy", on ? "true" : "false");
  }
  function deviceId() {
    try {
      var id = localStorage.getItem("tc.device");
      if (!id) {
        id = window.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now();
        localStorage.setItem("tc.device", id);
      }
      return id.slice(0, 64);
    } catch (e) { return ""; }
  }
  function send() {
    busy(true);
    var keepExif = !latIn.value;
    Promise.all(photos.map(function (p) { return RP.shrink(p.file, keepExif); })).then(function (blobs) {
      var fd = new FormData();
      fd.append("category", category().value);
      fd.append("description", desc.value.trim());
      if (latIn.value) { fd.append("lat", latIn.value); fd.append("lon", lonIn.value); }
      ["address", "name", "phone", "email"].forEach(function (k) { fd.append(k, field(k).value.trim()); });
      fd.append("device_id", deviceId());
      blobs.forEach(function (b, i) { fd.append("photos", b, "anh-" + (i + 1) + ".jpg"); });
      return RP.send("POST", "/api/v1/reports", fd);
    }).then(done).catch(function (err) { busy(false); fail(err.message); });
  }
  function done(r) {
    RP.remember(r.tracking_code, categoryName());
    form.hidden = true;
    $("done").hidden = false;
    $("done-code").textContent = r.tracking_code;
    $("done-link").href = "/phan-anh/tra-cuu/" + encodeURIComponent(r.tracking_code);
    window.scrollTo(0, 0);
    RP.showMine();
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!validate()) return;
    var key = currentKey();
    if (!key) { send(); return; }
    busy(true, T.checking);
    checkNearby().then(function (list) {
      busy(false);
      if (list.length && confirmedKey !== key) { dupes.scrollIntoView({ behavior: "smooth", block: "start" }); return; }
      send();
    });
  });

  $("again").addEventListener("click", function () {
    form.reset();
    photos.forEach(function (p) { URL.revokeObjectURL(p.url); });
    photos = [];
    drawThumbs();
    latIn.value = lonIn.value = "";
    if (marker) { map.removeLayer(marker); marker = null; }
    checkedKey = confirmedKey = null;
    nearbyList = [];
    dupes.hidden = true;
    describe();
    busy(false);
    $("desc-count").textContent = "0";
    $("done").hidden = true;
    form.hidden = false;
    window.scrollTo(0, 0);
  });
  $("copy-code").addEventListener("click", function () {
    var btn = this, code = $("done-code").textContent;
    var ok = function () { btn.textContent = T.copied; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(code).then(ok, function () { window.getSelection().selectAllChildren($("done-code")); });
    } else {
      window.getSelection().selectAllChildren($("done-code"));
    }
  });

  RP.showMine();
})();
