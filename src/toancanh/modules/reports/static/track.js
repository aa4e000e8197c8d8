// The tracking page: the rating form (stars, satisfied or not, comment), sent to the JSON API; the page
// then reloads to show the new state ("Hoàn thành", or reopened when not satisfied).
(function () {
  "use strict";
  if (!window.RP) return;
  var track = document.getElementById("track");
  if (track) RP.remember(track.dataset.code, "");
  try {
    var flash = sessionStorage.getItem("tc.flash");
    if (flash) { sessionStorage.removeItem("tc.flash"); RP.show(document.getElementById("flash"), flash); }
  } catch (e) { /* no storage */ }
  var form = document.getElementById("rate-form");
  if (!form || !track) return;
  var T = RP.T, errorBox = document.getElementById("rate-error"), btn = document.getElementById("rate-btn");
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var rating = form.querySelector("input[name=rating]:checked");
    var satisfied = form.querySelector("input[name=satisfied]:checked");
    if (!rating) { RP.show(errorBox, T.need_rating); return; }
    if (!satisfied) { RP.show(errorBox, T.need_satisfied); return; }
    RP.show(errorBox, "");
    var label = btn.textContent;
    btn.disabled = true;
    btn.textContent = T.sending;
    var body = {
      rating: parseInt(rating.value, 10),
      satisfied: satisfied.value === "true",
      comment: form.elements.namedItem("comment").value.trim()
    };
    RP.send("POST", "/api/v1/reports/track/" + encodeURIComponent(track.dataset.code) + "/rate", body)
      .then(function (r) {
        track.dataset.state = r.state;
        try { if (!body.satisfied) sessionStorage.setItem("tc.flash", T.reopened); } catch (e) { /* no storage */ }
        window.location.reload();
      })
      .catch(function (err) { btn.disabled = false; btn.textContent = label; RP.show(errorBox, err.message); });
  });
})();
