// The public map and list: moderated reports (rounded positions, no identity), clustered on the map,
// filtered by kind with the chips above.
(function () {
  "use strict";
  var el = document.getElementById("pub-map");
  if (!el || !window.L || !window.RP) return;
  var COLORS = { resolved: "#2b8a3e", closed: "#2b8a3e", rejected: "#868e96", merged: "#868e96" };
  var items = Array.prototype.slice.call(document.querySelectorAll("#pub-list .pub-item"));
  var map = RP.areaMap(el, {});
  function points(cat) {
    return items.filter(function (li) { return !cat || li.dataset.cat === cat; }).map(function (li) {
      var top = li.querySelector(".pub-top"), d = li.querySelector(".desc");
      return {
        lat: parseFloat(li.dataset.lat), lon: parseFloat(li.dataset.lon), cls: "st-" + li.dataset.state,
        color: COLORS[li.dataset.state] || "#e8590c",
        popup: "<b>" + RP.esc(top ? top.textContent.replace(/\s+/g, " ").trim() : "") + "</b><br>" +
          RP.esc(d ? d.textContent.slice(0, 160) : "")
      };
    });
  }
  var layer = RP.cluster(map, el, points(""), { cell: 56 });
  var chips = document.getElementById("pub-filter");
  if (chips) {
    chips.addEventListener("click", function (e) {
      var chip = e.target.closest ? e.target.closest(".chip") : null;
      if (!chip) return;
      var cat = chip.dataset.cat;
      Array.prototype.forEach.call(chips.querySelectorAll(".chip"), function (c) { c.classList.toggle("on", c === chip); });
      items.forEach(function (li) { li.hidden = !!cat && li.dataset.cat !== cat; });
      layer.setPoints(points(cat));
    });
  }
})();
