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

// Toasts raised by an htmx answer: a handler sets the HX-Trigger header
// {"crossdock:toast": {"kind": "success", "message": "…"}} (handlers.Toast) and
// the toast is built here, its text set as text, never as HTML.
(function () {
  "use strict";
  // htmx fires the event on the element that made the request; it bubbles.
  document.addEventListener("crossdock:toast", function (e) {
    var d = e.detail || {};
    if (!d.message) return;
    var box = document.getElementById("toasts");
    if (!box) return;
    var t = document.createElement("div");
    var kind = /^(success|info|warning|critical)$/.test(d.kind) ? d.kind : "info";
    t.className = "banner toast banner-" + kind;
    t.setAttribute("role", kind === "critical" ? "alert" : "status");
    t.appendChild(document.createTextNode(d.message));
    var b = document.createElement("button");
    b.type = "button"; b.className = "btn btn-small"; b.setAttribute("data-dismiss", ""); b.setAttribute("aria-label", "Dismiss");
    b.textContent = "×";
    t.appendChild(b);
    box.appendChild(t);
    setTimeout(function () { t.remove(); }, 10000);
  });
})();

// Tables on phones: every cell carries its column's header as data-label, so
// a row stacked into a card still says what each value is.
(function () {
  "use strict";
  function label(root) {
    (root || document).querySelectorAll(".table-wrap table").forEach(function (table) {
      var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.dataset.label !== undefined ? th.dataset.label : th.textContent.replace(/[↕↑↓]/g, "").trim();
      });
      if (!heads.length) return;
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        var i = 0;
        Array.prototype.forEach.call(tr.children, function (cell) {
          if (!cell.hasAttribute("data-label") && heads[i] !== undefined) cell.setAttribute("data-label", heads[i]);
          i += cell.colSpan || 1;
        });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { label(document); });
  document.addEventListener("htmx:afterSettle", function () { label(document); });
})();

// Sortable tables (whole lists shown on one page). Markup:
//   <table data-sortable>
//     <thead><tr><th data-sort="text">Name</th><th data-sort="num" class="num">Orders</th>…
//     <tbody><tr><td>…</td><td data-value="1200">1,200</td>…
// A header with data-sort becomes a button; a click sorts the rows by that
// column (data-value when a cell has one, else its text), numbers as numbers
// ("1,200" after "100"; "SKU-2" before "SKU-10"), and sets aria-sort.
// Paginated lists sort on the server instead (components.SortHeader).
(function () {
  "use strict";
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  function value(cell) {
    if (!cell) return "";
    return cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
  }
  function number(s) {
    var n = parseFloat(String(s).replace(/[^0-9.\-]/g, ""));
    return isNaN(n) ? null : n;
  }
  function compare(kind) {
    return function (a, b) {
      if (kind === "num") {
        var x = number(a), y = number(b);
        if (x === null || y === null) return collator.compare(String(a), String(b));
        return x - y;
      }
      return collator.compare(a, b);
    };
  }
  function arm(table) {
    if (table.dataset.sortArmed) return;
    table.dataset.sortArmed = "1";
    var ths = table.querySelectorAll("thead th");
    ths.forEach(function (th, col) {
      var kind = th.dataset.sort;
      if (!kind) return;
      var btn = document.createElement("button");
      btn.type = "button"; btn.className = "sort";
      while (th.firstChild) btn.appendChild(th.firstChild);
      th.appendChild(btn);
      btn.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        ths.forEach(function (o) { o.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir);
        var body = table.tBodies[0];
        var cmp = compare(kind);
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var a = value(r1.cells[col]), b = value(r2.cells[col]);
          if ((a === "") !== (b === "")) return a === "" ? 1 : -1; // empty cells last, either way
          var c = cmp(a, b);
          return dir === "ascending" ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }
  function scan(root) { (root || document).querySelectorAll("table[data-sortable]").forEach(arm); }
  document.addEventListener("DOMContentLoaded", function () { scan(document); });
  document.addEventListener("htmx:afterSettle", function () { scan(document); });
})();

// Tick-all and the bulk action bar (components.BulkBar, TickAll, Tick). Markup:
//   <form data-bulk method="post" action="…">          (any element may be the container)
//     <div class="bulk-bar" data-bulk-bar data-noun="failed syncs" hidden>
//       <span class="bulk-count" data-bulk-count></span>
//       <label data-bulk-matching hidden><input type="checkbox" name="all_matching" value="1"> Select all 2,431 matching</label>
//       <button class="btn btn-small" name="action" value="ignore">Ignore</button> …
//     </div>
//     <table><thead><tr><th class="tick"><input type="checkbox" data-tick-all aria-label="Select all on this page"></th>…
//       <tbody><tr><td class="tick"><input type="checkbox" name="ids" value="42" data-tick aria-label="Select #1001"></td>…
//   </form>
// Ticking boxes shows the bar with "3 failed syncs selected"; the tick-all box
// ticks every row of the page (and is half-ticked when some are); with all of
// the page ticked, the "all matching" box is offered, and ticking it says so
// in the count. Nothing is sent until a button of the bar is pressed. An
// element marked data-bulk-ticked in the container says "3 ticked" (Failed
// syncs keeps its actions in a card above the list: its boxes name that form
// with form="…" and sit with it in one data-bulk container).
(function () {
  "use strict";
  function update(box) {
    var ticks = box.querySelectorAll("input[data-tick]");
    var on = box.querySelectorAll("input[data-tick]:checked").length;
    var all = box.querySelector("input[data-tick-all]");
    if (all) {
      all.checked = ticks.length > 0 && on === ticks.length;
      all.indeterminate = on > 0 && on < ticks.length;
    }
    box.querySelectorAll("[data-bulk-ticked]").forEach(function (el) {
      el.textContent = on === 1 ? "1 ticked" : on.toLocaleString("en-US") + " ticked";
    });
    var bar = box.querySelector("[data-bulk-bar]");
    if (!bar) return;
    var matching = bar.querySelector("[data-bulk-matching]");
    var matchingBox = matching && matching.querySelector("input[type=checkbox]");
    if (matching) {
      matching.hidden = !(ticks.length > 0 && on === ticks.length);
      if (matching.hidden && matchingBox) matchingBox.checked = false;
    }
    bar.hidden = on === 0;
    var count = bar.querySelector("[data-bulk-count]");
    if (count) {
      var noun = bar.dataset.noun || "rows";
      if (matchingBox && matchingBox.checked) {
        count.textContent = "All " + (bar.dataset.matching || "") + " matching " + noun + " selected";
      } else {
        count.textContent = on.toLocaleString("en-US") + " " + (on === 1 ? (bar.dataset.one || noun) : noun) + " selected";
      }
    }
  }
  document.addEventListener("change", function (e) {
    var el = e.target;
    var box = el.closest && el.closest("[data-bulk]");
    if (!box) return;
    if (el.matches("input[data-tick-all]")) {
      box.querySelectorAll("input[data-tick]").forEach(function (t) { t.checked = el.checked; });
    }
    if (el.matches("input[data-tick-all], input[data-tick], [data-bulk-matching] input")) update(box);
  });
  function scan() { document.querySelectorAll("[data-bulk]").forEach(update); }
  document.addEventListener("DOMContentLoaded", scan);
  document.addEventListener("htmx:afterSettle", scan);
})();

// On a phone the navigation is one row that scrolls: bring the current
// area into view.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var nav = document.querySelector(".sidebar .nav");
  var cur = nav && nav.querySelector('[aria-current="page"]');
  if (cur && nav.scrollWidth > nav.clientWidth) {
    nav.scrollLeft = cur.offsetLeft - (nav.clientWidth - cur.offsetWidth) / 2;
  }
});
