/* Enter / arrow keys move between cells like a spreadsheet; warn before leaving unsaved work.
   On the score grid (a form with data-sheet) also: each cell checked as typed with the grades
   service's rules, the row's ĐTBmhk as typed, a block pasted from Excel, a draft kept in the
   browser. Every text shown comes from the page (the data- attributes of #grid-messages):
   this file holds none, so the page's language is the grid's. */
(function () {
  var grid = document.getElementById("grid");
  if (!grid) return;
  var dirty = grid.dataset.unsaved === "1";
  grid.addEventListener("input", function () { dirty = true; });
  grid.addEventListener("change", function () { dirty = true; });
  Array.prototype.forEach.call(document.forms, function (f) {
    f.addEventListener("submit", function () { if (f === grid) dirty = false; });
  });
  window.addEventListener("beforeunload", function (e) {
    if (dirty) { e.preventDefault(); e.returnValue = ""; }
  });
  function cell(r, c) { return grid.querySelector('[data-r="' + r + '"][data-c="' + c + '"]'); }
  var rows = grid.querySelectorAll("[data-r]").length ? Math.max.apply(null,
    Array.prototype.map.call(grid.querySelectorAll("[data-r]"), function (x) { return +x.dataset.r; })) : 0;
  grid.addEventListener("keydown", function (e) {
    var t = e.target;
    if (!t.dataset || t.dataset.r === undefined) return;
    var r = +t.dataset.r, c = +t.dataset.c, text = t.tagName === "INPUT";
    var dr = 0, dc = 0;
    if (e.key === "Enter") dr = e.shiftKey ? -1 : 1;
    else if (e.key === "ArrowDown") dr = 1;
    else if (e.key === "ArrowUp") dr = -1;
    else if (e.key === "ArrowRight" && (!text || t.selectionEnd === t.value.length)) dc = 1;
    else if (e.key === "ArrowLeft" && (!text || t.selectionStart === 0)) dc = -1;
    else return;
    e.preventDefault();
    var next = null;
    if (dr) {
      for (var i = r + dr; i >= 0 && i <= rows && !next; i += dr) next = cell(i, c);
      for (var j = 0; !next && e.key === "Enter" && dr > 0 && j <= rows; j++) next = cell(j, c + 1);
    } else {
      next = cell(r, c + dc);
    }
    if (next) { next.focus(); if (next.select) next.select(); }
  });

  var source = document.getElementById("grid-messages");
  if (!grid.dataset.sheet || !source) return;
  var M = source.dataset;
  var each = function (list, f) { Array.prototype.forEach.call(list, f); };
  function say(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return values && values[name] !== undefined ? String(values[name]) : whole;
    });
  }

  /* The grades service's rules (hbs_grades.results.numbers.parse_score and sheets.cells):
     NFC, trimmed; "8", "8.5" or "8,5"; at most 10. The service checks again on save. */
  var SCORE = /^[0-9]{1,2}(?:[.,][0-9])?$/;
  var UNFINISHED = /^[0-9]{1,2}[.,]$/;
  var MARKS = { "Đ": "Đ", "ĐẠT": "Đ", "D": "Đ", "DAT": "Đ", "CĐ": "CĐ", "CHƯA ĐẠT": "CĐ", "CD": "CĐ", "CHUA DAT": "CĐ" };
  function cleaned(text) { return String(text).normalize("NFC").trim(); }
  function tenths(text) {
    var parts = text.replace(",", ".").split(".");
    return +parts[0] * 10 + (parts.length > 1 ? +parts[1] : 0);
  }
  function keyOf(el) { return el.name.replace(/^c\d+_/, ""); }
  function isScore(el) { return el.dataset.check === "score"; }
  function problem(el) {
    var text = cleaned(el.value);
    if (!text || keyOf(el) === "comment") return "";
    if (el.tagName === "SELECT") return text === "Đ" || text === "CĐ" ? "" : say(M.notMark, { text: el.value });
    if (!SCORE.test(text)) return say(M.notScore, { text: text });
    if (tenths(text) > 100) return say(M.overTen, { text: text });
    return "";
  }
  function mark(el, message) {
    var td = el.closest("td");
    var why = td.querySelector(".why");
    if (message) {
      if (!why) {
        why = document.createElement("span");
        why.className = "why";
        why.id = "why-" + el.name;
        el.insertAdjacentElement("afterend", why);
      }
      why.textContent = message;
      el.classList.add("bad");
      el.setAttribute("aria-invalid", "true");
      el.setAttribute("aria-describedby", why.id);
    } else {
      if (why) why.parentNode.removeChild(why);
      el.classList.remove("bad");
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
    }
  }
  /* While a score is being typed ("8," on the way to "8,5") its mark waits for the cell to be left. */
  function check(el, typing) {
    var message = problem(el);
    if (typing && message && isScore(el) && UNFINISHED.test(cleaned(el.value))) message = "";
    mark(el, message);
  }

  /* ĐTBmhk = (ΣĐĐGtx + 2·ĐĐGgk + 3·ĐĐGck) / (number of ĐĐGtx + 5), half up to one digit
     (hbs_grades.results.subjects.semester_average), in whole tenths so no float rounds it. */
  var required = Array.prototype.map.call(grid.querySelectorAll("thead th[data-k]"), function (th) {
    return th.dataset.k;
  }).filter(function (k) { return k !== "comment"; });
  function labelOf(key) { return grid.querySelector('thead th[data-k="' + key + '"]').textContent; }
  function valueIn(tr, key) {
    var td = tr.querySelector('td[data-k="' + key + '"]');
    if (!td) return { text: "" };
    var el = td.querySelector("[data-r]");
    return el ? { text: cleaned(el.value), el: el } : { text: cleaned(td.dataset.v || "") };
  }
  function scoreText(value) {  /* an average: one decimal always ("9,0", not "9") */
    return Math.floor(value / 10) + M.decimalMark + (value % 10);
  }
  function result(tr) {
    var status = tr.querySelector("select.status");
    if (status && status.value !== "assessed") return { text: "", missing: [] };
    var missing = [], bad = false, values = [];
    required.forEach(function (key) {
      var v = valueIn(tr, key);
      if (!v.text) missing.push(key);
      else if (v.el ? problem(v.el) : false) bad = true;
      values.push(v.text);
    });
    if (missing.length || bad) return { text: "", missing: missing };
    if (grid.querySelector("select[data-r]")) {
      // A comment subject: Đ once every assessment is Đ (comment_semester_result).
      return { text: values.every(function (v) { return v === "Đ"; }) ? "Đ" : "CĐ", missing: [] };
    }
    var regular = 0, count = 0;
    required.forEach(function (key, i) {
      if (key.indexOf("regular_") === 0) { regular += tenths(values[i]); count += 1; }
    });
    var total = regular + 2 * tenths(values[required.indexOf("midterm")]) + 3 * tenths(values[required.indexOf("final")]);
    var divisor = count + 5;
    // Half up: floor(total / divisor + 1/2), exactly, in integers.
    return { text: scoreText(Math.floor((2 * total + divisor) / (2 * divisor))), missing: [] };
  }
  function recompute(tr) {
    var td = tr.querySelector("td.result");
    if (!td || !tr.querySelector("[data-r]")) return;
    var found = result(tr);
    td.textContent = found.text;
    if (found.missing.length) {
      var note = document.createElement("span");
      note.className = "muted";
      note.title = say(M.missingTitle, { labels: found.missing.map(labelOf).join(", ") });
      note.textContent = say(M.missing, { n: found.missing.length });
      td.appendChild(note);
    }
  }

  /* The draft: every score the teacher changed and did not save, under the sheet's id and
     version (no names; comments and statuses stay out, they may say more than a score). */
  var sheet = grid.dataset.sheet, version = +grid.dataset.version;
  var PREFIX = "hbs-grid-draft:" + sheet + ":";
  var store = null;
  try { store = window.localStorage; } catch (e) { store = null; }
  var offered = null;
  function same(a, b) {
    a = cleaned(a); b = cleaned(b);
    if (SCORE.test(a) && SCORE.test(b)) return tenths(a) === tenths(b);
    return a === b;
  }
  function shownOf(el) {
    var shown = grid.querySelector('input[name="' + el.name + '_shown"]');
    return shown ? shown.value : "";
  }
  function drafted() { return grid.querySelectorAll("[data-r]:not([name$='_comment'])"); }
  function findCell(student, key) {
    if (!/^[0-9a-f-]{1,64}$/i.test(student) || !/^(regular_[1-4]|midterm|final)$/.test(key)) return null;
    var tr = grid.querySelector('tr[data-student="' + student + '"]');
    var td = tr && tr.querySelector('td[data-k="' + key + '"]');
    var el = td && td.querySelector("[data-r]");
    return el && keyOf(el) !== "comment" ? el : null;
  }
  function writeDraft() {
    if (!store || offered) return;  // an offered draft stays until the teacher chooses
    var cells = {}, n = 0;
    each(drafted(), function (el) {
      if (same(el.value, shownOf(el))) return;
      var student = el.closest("tr").dataset.student;
      (cells[student] = cells[student] || {})[keyOf(el)] = el.value;
      n += 1;
    });
    try {
      if (n) store.setItem(PREFIX + version, JSON.stringify({ saved_at: Date.now(), cells: cells }));
      else store.removeItem(PREFIX + version);
    } catch (e) { /* storage full or refused: the page still warns before closing */ }
  }
  function drafts() {
    var found = [];
    if (!store) return found;
    for (var i = 0; i < store.length; i++) {
      var key = store.key(i);
      if (key.indexOf(PREFIX) !== 0) continue;
      try {
        var draft = JSON.parse(store.getItem(key));
        draft.key = key;
        draft.version = +key.slice(PREFIX.length);
        if (draft.cells && typeof draft.cells === "object") found.push(draft);
      } catch (e) { /* not ours or damaged: left alone */ }
    }
    return found;
  }
  function dropDrafts() { drafts().forEach(function (d) { store.removeItem(d.key); }); }
  function entries(draft) {
    var list = [];
    Object.keys(draft.cells).forEach(function (student) {
      var row = draft.cells[student];
      if (!row || typeof row !== "object") return;
      Object.keys(row).forEach(function (key) {
        list.push({ el: findCell(student, key), value: String(row[key]) });
      });
    });
    return list;
  }
  function news(draft) {
    return entries(draft).filter(function (e) { return e.el && !same(e.el.value, e.value); });
  }
  function when(ms) {
    var parts = {};
    try {
      new Intl.DateTimeFormat("en-GB", {
        timeZone: grid.dataset.zone, year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23"
      }).formatToParts(new Date(ms)).forEach(function (p) { parts[p.type] = p.value; });
    } catch (e) { return ""; }
    return parts.day + "/" + parts.month + "/" + parts.year + " " + parts.hour + ":" + parts.minute;
  }

  var status = document.getElementById("grid-status");
  var banner = document.getElementById("grid-draft");
  function tell(lines) { if (status) status.textContent = lines.filter(Boolean).join(" "); }
  function changed(els) {
    var touched = [];
    els.forEach(function (el) {
      check(el, false);
      var tr = el.closest("tr");
      if (touched.indexOf(tr) < 0) touched.push(tr);
    });
    touched.forEach(recompute);
    dirty = true;
    writeDraft();
  }
  function setCell(el, value) {
    if (el.tagName === "SELECT") {
      var text = cleaned(value), mark = MARKS[text.toUpperCase().split(/\s+/).join(" ")];
      if (!text) el.value = "";
      else if (mark) el.value = mark;
      else {
        // Kept in place and marked, as the server would draw it.
        var option = document.createElement("option");
        option.textContent = value;
        el.appendChild(option);
        el.value = value;
      }
    } else {
      el.value = value;
    }
  }

  grid.addEventListener("input", function (e) {
    var el = e.target;
    if (el.dataset && el.dataset.r !== undefined) check(el, true);
    var tr = el.closest && el.closest("tr");
    if (tr) recompute(tr);
    writeDraft();
  });
  grid.addEventListener("change", function (e) {
    var el = e.target;
    if (el.dataset && el.dataset.r !== undefined) check(el, false);
    var tr = el.closest && el.closest("tr");
    if (tr) recompute(tr);
    writeDraft();
  });

  /* A block copied from Excel (tab between cells, a newline between rows) fills the cells right
     and down from the one it is pasted into; one plain value is left to the browser. */
  grid.addEventListener("paste", function (e) {
    var start = e.target;
    if (!start.dataset || start.dataset.r === undefined || !e.clipboardData) return;
    var text = e.clipboardData.getData("text/plain");
    if (!/[\t\r\n]/.test(text)) return;
    e.preventDefault();
    var lines = text.replace(/\r\n?/g, "\n").split("\n");
    if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
    var r0 = +start.dataset.r, c0 = +start.dataset.c, filled = [], ignored = 0;
    lines.forEach(function (line, i) {
      line.split("\t").forEach(function (value, j) {
        var el = cell(r0 + i, c0 + j);
        if (!el) { if (cleaned(value)) ignored += 1; return; }
        setCell(el, cleaned(value));
        filled.push(el);
      });
    });
    changed(filled);
    var bad = filled.filter(function (el) { return problem(el); }).length;
    tell([
      say(M.pasted, { n: filled.length }),
      ignored ? say(M.pastedIgnored, { ignored: ignored }) : "",
      bad ? say(M.pastedBad, { bad: bad }) : ""
    ]);
  });

  function offer(draft) {
    offered = draft;
    var stale = draft.version !== version;
    banner.querySelector(".draft-text").textContent = say(stale ? M.draftStale : M.draftFound, {
      n: news(draft).length, when: when(draft.saved_at)
    });
    banner.classList.toggle("stale", stale);
    banner.hidden = false;
  }
  function closeOffer(lines, focus) {
    offered = null;
    banner.hidden = true;
    dropDrafts();
    writeDraft();
    tell(lines);
    if (focus) { focus.focus(); if (focus.select) focus.select(); }
  }
  if (banner) {
    banner.addEventListener("click", function (e) {
      var choice = e.target.dataset && e.target.dataset.draft;
      if (!choice || !offered) return;
      if (choice === "discard") { closeOffer([M.discarded], cell(0, 0)); return; }
      var all = entries(offered), usable = all.filter(function (x) { return x.el; });
      usable.forEach(function (x) { setCell(x.el, x.value); });
      offered = null;  // its values are on the page now: the next draft is written from them
      changed(usable.map(function (x) { return x.el; }));
      closeOffer([
        say(M.restored, { n: usable.length }),
        all.length > usable.length ? say(M.restoredIgnored, { ignored: all.length - usable.length }) : ""
      ], usable.length ? usable[0].el : cell(0, 0));
    });
  }

  // On arrival: a draft with nothing the page does not show already (saved since, or just
  // refused and drawn again with what was typed) is dropped; the newest other one is offered.
  if (grid.dataset.unsaved === "1") {
    // Drawn again after a refused save: the page holds the newest typed values, keep those.
    each(grid.querySelectorAll("tbody tr"), recompute);
    drafts().forEach(function (d) { if (d.version === version) store.removeItem(d.key); });
    writeDraft();
  }
  var waiting = drafts().filter(function (d) {
    if (d.version === version && grid.dataset.unsaved === "1") return false;
    if (news(d).length) return true;
    store.removeItem(d.key);
    return false;
  });
  if (waiting.length && banner) {
    waiting.sort(function (a, b) { return b.version - a.version || b.saved_at - a.saved_at; });
    offer(waiting[0]);
  }
})();
