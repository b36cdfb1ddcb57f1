/* Small page behaviours without inline script (the Content-Security-Policy allows none). */
document.addEventListener("click", function (e) {
  if (e.target.closest && e.target.closest("[data-print]")) window.print();
});
document.addEventListener("submit", function (e) {
  var question = e.target.dataset && e.target.dataset.confirm;
  if (question && !window.confirm(question)) e.preventDefault();
});
/* A long request says what is happening (data-busy) and cannot be sent twice. A form marked
   data-download fetches its file and saves it, then says it is done (the page stays). */
function statusOf(form) {
  var status = form.querySelector(".busy");
  if (!status) {
    status = document.createElement("p");
    status.className = "busy";
    status.setAttribute("role", "status");
    form.appendChild(status);
  }
  return status;
}
function savedName(response) {
  var header = response.headers.get("content-disposition") || "";
  var utf8 = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (utf8) return decodeURIComponent(utf8[1]);
  var plain = /filename="([^"]+)"/i.exec(header);
  return plain ? plain[1] : "tep.pdf";
}
document.addEventListener("submit", function (e) {
  var form = e.target;
  if (e.defaultPrevented || !form.dataset || !form.dataset.busy) return;
  var buttons = form.querySelectorAll("button");
  var status = statusOf(form);
  form.setAttribute("aria-busy", "true");
  status.textContent = form.dataset.busy;
  buttons.forEach(function (b) { b.disabled = true; });
  if (!form.hasAttribute("data-download") || !window.fetch) return;
  e.preventDefault();
  fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.blob().then(function (blob) {
        var link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = savedName(response);
        document.body.appendChild(link);
        link.click();
        status.textContent = form.dataset.done + " (" + link.download + ")";
      });
    })
    .catch(function (error) {
      // The page gives the sentence in its language; {error} is the HTTP status.
      var failed = form.dataset.failed || "Chưa tạo được tệp ({error}). Tải lại trang rồi thử lại.";
      status.textContent = failed.replace("{error}", error.message);
      buttons.forEach(function (b) { b.disabled = false; });
    })
    .then(function () { form.removeAttribute("aria-busy"); });
});
/* A list of Vietnamese levels answers the letter typed without its marks: "d" picks Đ (Đạt),
   "c" CĐ; typing it again moves to the next match (Chromium's own type-ahead ignores Đ). */
function plainText(text) {
  return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase();
}
document.addEventListener("keydown", function (e) {
  var select = e.target;
  if (!select.matches || !select.matches("select[data-first-letter]")) return;
  if (e.ctrlKey || e.metaKey || e.altKey || e.key.length !== 1) return;
  var letter = plainText(e.key);
  var options = Array.prototype.slice.call(select.options);
  var from = select.selectedIndex;
  for (var step = 1; step <= options.length; step++) {
    var option = options[(from + step) % options.length];
    if (option.value && plainText(option.text).indexOf(letter) === 0) {
      e.preventDefault();
      select.value = option.value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      return;
    }
  }
});
/* Signing out on a shared computer leaves no unsaved scores behind (grid drafts, grid.js). */
document.addEventListener("submit", function (e) {
  if (e.defaultPrevented || e.target.getAttribute("action") !== "/logout") return;
  try {
    Object.keys(window.localStorage)
      .filter(function (key) { return key.indexOf("hbs-grid-draft:") === 0; })
      .forEach(function (key) { window.localStorage.removeItem(key); });
  } catch (error) { /* storage disabled: nothing was kept */ }
});
