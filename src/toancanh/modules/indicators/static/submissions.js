// Data reports: upload a file (errors shown row by row, downloadable as xlsx), submit, approve, return.
(function () {
  "use strict";
  var T = JSON.parse((document.getElementById("ind-i18n") || {}).textContent || "{}");
  var csrf = (JSON.parse(document.body.getAttribute("hx-headers") || "{}"))["X-CSRF-Token"] || "";
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  var form = document.getElementById("ind-upload");
  var status = document.getElementById("ind-upload-status");
  var table = document.getElementById("ind-errors");
  var xlsxBtn = document.getElementById("ind-errors-xlsx");
  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf }, body: body });
  }
  if (form) {
    var url = "/api/v1/indicators/datasets/" + encodeURIComponent(form.dataset.dataset) + "/import";
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      status.textContent = T.uploading;
      table.hidden = true; xlsxBtn.hidden = true;
      post(url, new FormData(form)).then(function (r) {
        return r.json().then(function (j) { return { ok: r.ok, body: j }; });
      }).then(function (res) {
        if (res.ok) { status.textContent = T.imported + ": " + res.body.values; setTimeout(function () { location.reload(); }, 800); return; }
        var err = res.body.error || {};
        status.textContent = document.documentElement.lang === "en" ? err.message_en : err.message;
        var rows = (err.details && err.details.errors) || [];
        if (rows.length) {
          table.querySelector("tbody").innerHTML = rows.map(function (e) {
            return "<tr><td>" + esc(e.row) + "</td><td>" + esc(e.column) + "</td><td>" +
              esc(document.documentElement.lang === "en" ? e.message_en : e.message) + "</td></tr>";
          }).join("");
          table.hidden = false; xlsxBtn.hidden = false;
        }
      }).catch(function () { status.textContent = T.error; });
    });
    xlsxBtn.addEventListener("click", function () {
      post(url + "?errors=xlsx", new FormData(form)).then(function (r) { return r.blob(); }).then(function (b) {
        var a = document.createElement("a");
        a.href = URL.createObjectURL(b); a.download = "loi_" + form.dataset.dataset + ".xlsx"; a.click();
      });
    });
  }
  document.querySelectorAll(".ind-act").forEach(function (b) {
    b.addEventListener("click", function () {
      var comment = "";
      if (b.dataset.action === "return") {
        comment = window.prompt(T.comment_needed) || "";
        if (!comment) return;
      }
      fetch("/api/v1/indicators/datasets/submissions/" + b.dataset.id + "/" + b.dataset.action, {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" }, body: JSON.stringify({ comment: comment })
      }).then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
        .then(function (res) {
          if (res.ok) { location.reload(); return; }
          var e = res.body.error || {};
          window.alert(document.documentElement.lang === "en" ? e.message_en : e.message);
        }).catch(function () { window.alert(T.error); });
    });
  });
})();
