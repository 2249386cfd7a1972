(function () {
  "use strict";
  // Progressive enhancement only: without this script every table and host is still there,
  // in report order; the controls below exist only when the script runs.
  var doc = document;

  function norm(text) { return (text || "").toLowerCase(); }

  // Large reports embed every host's details as data (#host-data, see hostview.py); a
  // host's section is built when it opens, from text nodes only (never markup).
  var dataEl = doc.getElementById("host-data");
  var data = null;
  function hostData() {
    if (data === null && dataEl) { data = JSON.parse(dataEl.textContent); }
    return data;
  }

  function el(tag, text, cls) {
    var e = doc.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }

  function table(cls, heads, rows) {
    var wrap = el("div", null, "table-wrap");
    var t = el("table", null, cls);
    var head = t.createTHead().insertRow();
    heads.forEach(function (c) { head.appendChild(el("th", c[0], c[1])); });
    var body = t.createTBody();
    rows.forEach(function (r) {
      var tr = body.insertRow();
      if (r.cls) { tr.className = r.cls; }
      r.cells.forEach(function (c) { tr.appendChild(el("td", c[0], c[1])); });
    });
    wrap.appendChild(t);
    return wrap;
  }

  // A command several hosts ran is written out once, under Run: a host names it (as the
  // rendered page's hosts do, word for word).
  function sharedCommand(number, nonce) {
    var p = el("p", "This host ran ", "shared-command");
    var a = el("a", "command #" + number);
    a.setAttribute("href", "#command-" + number);
    p.appendChild(a);
    p.appendChild(doc.createTextNode(" (written out once, under Run)"));
    if (nonce) {
      p.appendChild(doc.createTextNode(", with its own nonce "));
      p.appendChild(el("code", nonce));
      p.appendChild(doc.createTextNode(" where that shows " + data.nonce_mark));
    }
    p.appendChild(doc.createTextNode("."));
    return p;
  }

  function commandBlock(c, n, strings) {
    // c = [command, preview, exit code, seconds, stdout, stdout lines, stderr, stderr lines,
    //      nonce, shared]; command and preview: indexes of strings to join with the nonce;
    //      shared: the number of the run's copy of a command several hosts ran (0: none)
    function joined(parts) {
      return parts.map(function (i) { return strings[i]; }).join(c[8]);
    }
    var div = el("div", null, "command");
    var p = el("p", "Command " + n + ": ");
    p.appendChild(el("code", joined(c[1])));
    p.appendChild(doc.createTextNode(" · exit code "));
    p.appendChild(el("strong", c[2] === null ? "none" : c[2]));
    p.appendChild(doc.createTextNode(" · " + c[3]));
    div.appendChild(p);
    var raw = el("details", null, "raw");
    raw.appendChild(el("summary", "Exact command and raw output (stdout " + c[5] +
                       " lines, stderr " + c[7] + " lines)"));
    raw.appendChild(el("h4", "Command"));
    raw.appendChild(c[9] ? sharedCommand(c[9], c[8]) : el("pre", joined(c[0])));
    [["stdout", c[4]], ["stderr", strings[c[6]]]].forEach(function (part) {
      raw.appendChild(el("h4", part[0]));
      raw.appendChild(el("pre", part[1]));
    });
    div.appendChild(raw);
    return div;
  }

  function buildHost(details) {
    var i = details.getAttribute("data-i");
    if (i === null || details.hasAttribute("data-built") || !hostData()) { return; }
    var h = data.hosts[Number(i)];
    var frag = doc.createDocumentFragment();
    // h = [facts, error, notes, checked, listener rows, missing findings, commands]
    if (h[1]) {
      var box = el("p", null, "error-box");
      box.appendChild(el("strong", "Could not be checked: " + h[1][0]));
      box.appendChild(doc.createElement("br"));
      box.appendChild(doc.createTextNode(h[1][1]));
      frag.appendChild(box);
    }
    h[2].forEach(function (note) { frag.appendChild(el("p", note, "error-box")); });
    var dl = el("dl", null, "facts");
    data.labels.forEach(function (label, k) {
      dl.appendChild(el("dt", label));
      dl.appendChild(el("dd", h[0][k], label === "Address" ? "mono" : ""));
    });
    frag.appendChild(dl);
    if (h[3]) {
      // a row = [class, proto, port, service, bind, process, pid, user, verdict,
      //          verdict class, rule, notes, exposure, place]
      var listeners = function (rows, exposure) {
        var head = [["Proto"], ["Port", "num"], ["Service"], ["Address"], ["Process"],
          ["PID", "num"], ["User"]].concat(exposure ? [["Exposure"]] : [],
          [["Verdict"], ["Rule"], ["Notes"]]);
        return table("listeners", head, rows.map(function (r) {
          var cells = [[r[1]], [r[2], "num"], [r[3]], [r[4], "mono"], [r[5], "mono proc"],
            [r[6], "num"], [r[7]]].concat(exposure ? [[r[12]]] : [],
            [[r[8], r[9]], [r[10], "mono rule"], [r[11]]]);
          return { cls: r[0], cells: cells };
        }));
      };
      if (h[7].length) {  // a host with containers: one table per network namespace
        frag.appendChild(el("p", h[8] + ".", "muted"));
        h[7].forEach(function (place, k) {
          var head = el("h4", place[0], "netns");
          if (place[1]) { head.appendChild(el("span", " · " + place[1], "muted")); }
          frag.appendChild(head);
          frag.appendChild(listeners(h[4].filter(function (r) { return r[13] === k; }), true));
        });
      } else if (h[4].length) {
        frag.appendChild(listeners(h[4], false));
      } else {
        frag.appendChild(el("p", "No listeners."));
      }
      if (h[5].length) {
        var ul = el("ul");
        h[5].forEach(function (m) { ul.appendChild(el("li", m[0] + ": " + m[1], "v-" + m[0])); });
        frag.appendChild(ul);
      }
    }
    h[6].forEach(function (c, k) { frag.appendChild(commandBlock(c, k + 1, data.strings)); });
    details.querySelector(".host-body").appendChild(frag);
    details.setAttribute("data-built", "");
  }

  // The words the host filter matches for a host whose details are data, as data-search
  // holds them for the others: identity, status, error, ports, processes, verdicts.
  function lazySearch(details) {
    var h = hostData().hosts[Number(details.getAttribute("data-i"))];
    var words = [details.querySelector("summary").textContent, h[0].join(" ")];
    if (h[1]) { words.push(h[1][0], h[1][1]); }
    h[4].forEach(function (r) {
      words.push(r[1] + "/" + r[2], String(r[2]), r[5], r[8]);
    });
    h[7].forEach(function (place) { words.push(place[0]); });  // containers: name, image, pod
    return words.join(" ");
  }


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
    var texts = null;  // what each host matches; for a large report read from the host data
    var index = function () {
      if (texts === null) {
        texts = hosts.map(function (h) {
          return norm(h.hasAttribute("data-i") ? lazySearch(h) : h.getAttribute("data-search"));
        });
      }
    };
    // Built once the page is idle, so the first search is as quick as the next ones.
    if (window.requestIdleCallback) {
      window.addEventListener("load", function () { window.requestIdleCallback(index); });
    }
    var apply = function () {
      index();
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
    var target = id ? doc.getElementById(id) : null;
    for (; target; target = target.parentElement) {
      if (target.tagName === "DETAILS") { buildHost(target); target.open = true; }
    }
  }

  // Printing shows every host section; what was closed closes again afterwards.
  var closedForPrint = [];
  window.addEventListener("beforeprint", function () {
    closedForPrint = Array.prototype.filter.call(doc.querySelectorAll("details.host"),
      function (d) { return !d.open; });
    closedForPrint.forEach(function (d) { buildHost(d); d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closedForPrint.forEach(function (d) { d.open = false; });
    closedForPrint = [];
  });

  Array.prototype.forEach.call(doc.querySelectorAll(".filter-slot[data-table]"), rowFilter);
  Array.prototype.forEach.call(doc.querySelectorAll(".filter-slot[data-hosts]"), hostFilter);
  Array.prototype.forEach.call(doc.querySelectorAll("table.sortable"), sortable);
  // A host opened by any means (a click, a link, Expand all) gets its details built.
  doc.addEventListener("toggle", function (e) {
    var t = e.target;
    if (t.tagName === "DETAILS" && t.open && t.hasAttribute("data-i")) { buildHost(t); }
  }, true);
  window.addEventListener("hashchange", openTarget);
  openTarget();
  doc.documentElement.setAttribute("data-script", "ready");
}());
