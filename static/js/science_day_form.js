/* 全国科普日 — the activity form (templates/science_day/apply/form.html).
   Every part works without this file; it adds:
   - the 食品安全 note as the name is typed, the short-notice note as the start changes;
   - yes/no radios showing or hiding their sub-fields;
   - Enter in an org list's search box adds (never submits the form);
   - an autosave after an org list changed (htmx swapped it in);
   - 填入示例 for 活动详情. (Autosave itself: static/js/autosave.js.) */
(function () {
  "use strict";

  function foodNote(input) {
    var note = document.getElementById("food-safety-note");
    var kw = input.getAttribute("data-keyword") || "";
    if (note) note.hidden = !(kw && input.value.indexOf(kw) !== -1);
  }

  function noticeNote(input) {
    var note = document.getElementById("start_at-warn");
    if (!note || !input.value) { if (note) note.hidden = true; return; }
    var days = parseInt(input.getAttribute("data-notice-days") || "0", 10);
    // the value is Beijing time; compare in UTC milliseconds
    var start = Date.parse(input.value + ":00+08:00");
    if (isNaN(start)) return;
    var now = Date.now();
    note.hidden = !(start > now && start < now + days * 86400000);
  }

  function toggleMore(radio) {
    var id = radio.getAttribute("data-toggles");
    var box = id && document.getElementById(id);
    if (!box) return;
    var on = radio.form ? radio.form.querySelector('input[name="' + radio.name + '"][value="1"]') : null;
    box.hidden = !(on && on.checked);
  }

  document.addEventListener("input", function (e) {
    var t = e.target;
    if (t.id === "name" && t.hasAttribute("data-keyword")) foodNote(t);
    if (t.id === "start_at") noticeNote(t);
  });
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.id === "start_at") noticeNote(t);
    if (t.hasAttribute && t.hasAttribute("data-toggles")) toggleMore(t);
  });

  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.key !== "Enter" || !t.hasAttribute || !t.hasAttribute("data-orglist-input")) return;
    e.preventDefault();
    var box = t.closest(".org-list");
    var add = box && box.querySelector("[data-orglist-add]");
    if (add && t.value.trim()) add.click();
  });

  function init(root) {
    root.querySelectorAll("[data-hidden-when-off]").forEach(function (el) { el.hidden = true; });
    root.querySelectorAll("[data-insert-example]").forEach(function (btn) { btn.hidden = false; });
  }
  document.addEventListener("DOMContentLoaded", function () {
    init(document);
    var name = document.getElementById("name");
    if (name) foodNote(name);
  });

  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-insert-example]");
    if (!btn) return;
    var area = document.getElementById(btn.getAttribute("data-insert-example"));
    var text = document.getElementById("details-example-text");
    if (!area || !text) return;
    area.value = (area.value ? area.value.replace(/\s+$/, "") + "\n" : "") + text.textContent.trim();
    area.dispatchEvent(new Event("input", { bubbles: true }));
    area.dispatchEvent(new Event("change", { bubbles: true }));
    area.focus();
  });

  // An org list swapped in by htmx (added / removed): autosave the form.
  document.addEventListener("htmx:load", function (e) {
    var box = e.target;
    if (!box || !box.matches || !box.matches("[data-orglist-changed]")) return;
    box.removeAttribute("data-orglist-changed");
    var form = box.closest("form[data-autosave]");
    var input = box.querySelector("[data-orglist-input]");
    if (input) input.focus();
    if (form && window.htmx) window.setTimeout(function () { window.htmx.trigger(form, "change"); }, 30);
  });
})();
