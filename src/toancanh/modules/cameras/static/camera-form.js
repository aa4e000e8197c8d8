// The camera form: clicking the map places the camera (fills latitude and longitude); typing them moves the pin.
(function () {
  "use strict";
  var el = document.getElementById("cam-pick");
  var lat = document.getElementById("cam-lat"), lon = document.getElementById("cam-lon");
  if (!el || !lat || !lon || !window.L) return;
  var map = L.map(el, { attributionControl: false });
  if (el.dataset.tileUrl) L.tileLayer(el.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
  var center = el.dataset.center ? JSON.parse(el.dataset.center) : [20.935, 105.83];
  map.setView(center, 15);
  fetch("/api/v1/units/geojson", { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
    .then(function (fc) {
      if (fc) L.geoJSON(fc, { style: { color: "#2fb7ff", weight: 1, fillOpacity: 0.08 }, interactive: false }).addTo(map);
    }).catch(function () {});
  var pin = null;
  function place(la, lo) {
    if (pin) pin.setLatLng([la, lo]);
    else pin = L.circleMarker([la, lo], { radius: 7, color: "#08131f", weight: 2, fillColor: "#ffd166", fillOpacity: 1 }).addTo(map);
  }
  function fromInputs() {
    var la = parseFloat(lat.value.replace(",", ".")), lo = parseFloat(lon.value.replace(",", "."));
    if (isFinite(la) && isFinite(lo)) place(la, lo);
  }
  map.on("click", function (e) {
    lat.value = e.latlng.lat.toFixed(6);
    lon.value = e.latlng.lng.toFixed(6);
    place(e.latlng.lat, e.latlng.lng);
  });
  lat.addEventListener("change", fromInputs);
  lon.addEventListener("change", fromInputs);
  fromInputs();
})();
