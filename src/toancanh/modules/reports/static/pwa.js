// Installable citizen pages: register the service worker that keeps the page shell for offline use.
(function () {
  "use strict";
  if (!("serviceWorker" in navigator)) return;
  window.addEventListener("load", function () {
    navigator.serviceWorker.register("/phan-anh/sw.js", { scope: "/phan-anh" }).then(function () {
      document.documentElement.dataset.sw = "registered";
    }).catch(function () {
      document.documentElement.dataset.sw = "failed";
    });
  });
})();
