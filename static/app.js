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

// A list that refreshes itself (data-hold-when-ticked) waits while boxes are
// ticked in it, so a refresh never drops what someone is selecting.
(function () {
  "use strict";
  document.addEventListener("htmx:beforeRequest", function (e) {
    var el = e.detail && e.detail.elt;
    if (el && el.dataset && el.dataset.holdWhenTicked && el.querySelector("input[type=checkbox]:checked")) {
      e.preventDefault();
    }
  });
})();

// A tick-all box (data-tick-all names the form of the boxes) ticks or
// unticks every box of that form on the page; [data-ticked-for] says how
// many are ticked.
(function () {
  "use strict";
  function boxes(form) {
    return document.querySelectorAll("input[type=checkbox][name=id][form='" + form + "']");
  }
  function count() {
    document.querySelectorAll("[data-ticked-for]").forEach(function (el) {
      var n = 0;
      boxes(el.dataset.tickedFor).forEach(function (b) { if (b.checked) n++; });
      el.textContent = n === 1 ? "1 ticked" : n + " ticked";
    });
  }
  document.addEventListener("change", function (e) {
    var all = e.target.closest && e.target.closest("[data-tick-all]");
    if (all) {
      boxes(all.dataset.tickAll).forEach(function (box) { box.checked = all.checked; });
    }
    count();
  });
  document.addEventListener("htmx:afterSwap", count);
})();
