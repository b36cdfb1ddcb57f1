/* Enter / arrow keys move between cells like a spreadsheet; warn before leaving unsaved work. */
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
})();
