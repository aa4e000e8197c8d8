// The hotline form: place the caller's location on the map, then send the report as the operator.
(function () {
  "use strict";
  if (!window.RP) return;
  var form = document.getElementById("hotline-form");
  var mapEl = document.getElementById("hotline-map");
  if (!form) return;
  var error = document.getElementById("hotline-error");
  var marker = null;
  if (mapEl && window.L) {
    var map = RP.areaMap(mapEl, {});
    map.on("click", function (e) {
      form.lat.value = e.latlng.lat.toFixed(6);
      form.lon.value = e.latlng.lng.toFixed(6);
      if (marker) { marker.setLatLng(e.latlng); } else { marker = L.marker(e.latlng).addTo(map); }
    });
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    RP.show(error, "");
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    RP.send("POST", "/api/v1/reports/hotline", new FormData(form))
      .then(function (report) { window.location.href = "/reports/" + encodeURIComponent(report.id); })
      .catch(function (err) { button.disabled = false; RP.show(error, err.message); });
  });
})();
