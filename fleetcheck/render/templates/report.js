(function () {
  "use strict";
  // Progressive enhancement only: without this script every table and host is still there,
  // in report order; the controls below exist only when the script runs.
  var doc = document;

  function norm(text) { return (text || "").toLowerCase(); }

  function matches(haystack, terms) {
    for (var i = 0; i < terms.length; i++) {
      if (haystack.indexOf(terms[i]) < 0) { return false; }
    }
    return true;
  }

  function debounce(fn) {
    var timer = null;
    return function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(fn, 120);
    };
  }

  function bar(slot, label) {
    var div = doc.createElement("div");
    div.className = "filter-bar";
    var input = doc.createElement("input");
    input.type = "search";
    input.placeholder = label;
    input.setAttribute("aria-label", label);
    var shown = doc.createElement("span");
    shown.className = "shown";
    div.appendChild(input);
    div.appendChild(shown);
    slot.appendChild(div);
    return { div: div, input: input, shown: shown };
  }

  // Filter the rows of a table by words typed (every word must appear in the row).
  function rowFilter(slot) {
    var table = doc.getElementById(slot.getAttribute("data-table"));
    if (!table || !table.tBodies.length) { return; }
    var ui = bar(slot, slot.getAttribute("data-label") || "Filter");
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var texts = rows.map(function (r) { return norm(r.textContent); });
    var apply = function () {
      var terms = norm(ui.input.value).split(/\s+/).filter(Boolean);
      var n = 0;
      rows.forEach(function (row, i) {
        var ok = matches(texts[i], terms);
        row.hidden = !ok;
        if (ok) { n++; }
      });
      ui.shown.textContent = terms.length ? n + " of " + rows.length + " shown" : "";
    };
    ui.input.addEventListener("input", debounce(apply));
  }

  // Filter host sections by words and status; expand or collapse all.
  function hostFilter(slot) {
    var hosts = Array.prototype.slice.call(doc.querySelectorAll("details.host"));
    var ui = bar(slot, "Filter hosts: name, address, port, process, error");
    var select = doc.createElement("select");
    select.setAttribute("aria-label", "Host status");
    ["all statuses", "noncompliant", "unreachable", "error", "compliant"].forEach(function (s) {
      var opt = doc.createElement("option");
      opt.value = s.indexOf(" ") < 0 ? s : "";
      opt.textContent = s;
      select.appendChild(opt);
    });
    ui.div.insertBefore(select, ui.shown);
    [["Expand all", true], ["Collapse all", false]].forEach(function (pair) {
      var b = doc.createElement("button");
      b.type = "button";
      b.textContent = pair[0];
      b.addEventListener("click", function () {
        hosts.forEach(function (h) { if (!h.hidden) { h.open = pair[1]; } });
      });
      ui.div.insertBefore(b, ui.shown);
    });
    var texts = hosts.map(function (h) { return norm(h.getAttribute("data-search")); });
    var apply = function () {
      var terms = norm(ui.input.value).split(/\s+/).filter(Boolean);
      var status = select.value;
      var n = 0;
      hosts.forEach(function (h, i) {
        var ok = (!status || h.getAttribute("data-status") === status) && matches(texts[i], terms);
        h.hidden = !ok;
        if (ok) { n++; }
      });
      ui.shown.textContent = (terms.length || status) ? n + " of " + hosts.length + " shown" : "";
    };
    ui.input.addEventListener("input", debounce(apply));
    select.addEventListener("change", apply);
  }

  function sortValue(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    var v = cell.getAttribute("data-sort");
    return v !== null ? v : cell.textContent.trim();
  }

  function compare(a, b) {
    var x = Number(a), y = Number(b);
    if (a !== "" && b !== "" && !isNaN(x) && !isNaN(y)) { return x - y; }
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
  }

  // Click a column header to sort by it; click again to reverse.
  function sortable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, index) {
      var button = doc.createElement("button");
      button.type = "button";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      button.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var sign = dir === "ascending" ? 1 : -1;
        rows.sort(function (r1, r2) {
          return sign * compare(sortValue(r1, index), sortValue(r2, index));
        });
        var frag = doc.createDocumentFragment();
        rows.forEach(function (r) { frag.appendChild(r); });
        body.appendChild(frag);
      });
    });
  }

  // Following a link to a host (or anything inside one) opens its section.
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id ? doc.getElementById(id) : null;
    for (; el; el = el.parentElement) {
      if (el.tagName === "DETAILS") { el.open = true; }
    }
  }

  // Printing shows every host section; what was closed closes again afterwards.
  var closedForPrint = [];
  window.addEventListener("beforeprint", function () {
    closedForPrint = Array.prototype.filter.call(doc.querySelectorAll("details.host"),
      function (d) { return !d.open; });
    closedForPrint.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closedForPrint.forEach(function (d) { d.open = false; });
    closedForPrint = [];
  });

  Array.prototype.forEach.call(doc.querySelectorAll(".filter-slot[data-table]"), rowFilter);
  Array.prototype.forEach.call(doc.querySelectorAll(".filter-slot[data-hosts]"), hostFilter);
  Array.prototype.forEach.call(doc.querySelectorAll("table.sortable"), sortable);
  window.addEventListener("hashchange", openTarget);
  openTarget();
  doc.documentElement.setAttribute("data-script", "ready");
}());
