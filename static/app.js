// Crossdock's only script besides htmx: dismissible toasts. No inline scripts (CSP).
(function () {
  "use strict";
  function arm(toast) {
    if (toast.dataset.armed) return;
    toast.dataset.armed = "1";
    setTimeout(function () { toast.remove(); }, 10000);
  }
  function scan(root) { (root || document).querySelectorAll(".toast").forEach(arm); }
  document.addEventListener("DOMContentLoaded", function () { scan(document); });
  document.addEventListener("htmx:afterSwap", function () { scan(document); });
  document.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-dismiss]");
    if (btn) btn.closest(".toast, .banner").remove();
  });
})();
