// The tracking form page: list the codes sent from this phone.
(function () {
  "use strict";
  if (window.RP) RP.showMine();
})();
