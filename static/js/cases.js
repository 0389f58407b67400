/* kepu — cases pages (典赞·科普中国). Progressive: every page works without this file.
   - category radios show only the chosen category's subtypes; "其他" shows its text box
   - 插入建议框架 fills the suggested outline into an empty 详细材料
   - copy buttons for 推荐码 */
(function () {
  "use strict";

  function syncCategory(form) {
    var chosen = form.querySelector("[data-category-radio]:checked");
    var key = chosen ? chosen.value : null;
    form.querySelectorAll("[data-subtypes-for]").forEach(function (box) {
      var show = key === null || box.getAttribute("data-subtypes-for") === key;
      box.hidden = !show;
      if (!show) {
        box.querySelectorAll("input[type=radio]").forEach(function (r) { r.checked = false; });
      }
    });
    syncOther(form);
  }

  function syncOther(form) {
    var wrap = form.querySelector("[data-other-field]");
    if (!wrap) return;
    var other = form.querySelector("input[data-other]:checked");
    var input = wrap.querySelector("input");
    wrap.hidden = !other && !(input && input.value);
  }

  function initForm(form) {
    syncCategory(form);
    form.addEventListener("change", function (e) {
      var t = e.target;
      if (t.matches("[data-category-radio]")) syncCategory(form);
      if (t.matches("[data-subtype-of]")) {
        var cat = form.querySelector('[data-category-radio][value="' + t.getAttribute("data-subtype-of") + '"]');
        if (cat && !cat.checked) { cat.checked = true; syncCategory(form); t.checked = true; }
        syncOther(form);
      }
    });
    form.querySelectorAll("[data-outline-tools]").forEach(function (p) { p.hidden = false; });
  }

  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-insert-outline]");
    if (btn) {
      var area = document.getElementById(btn.getAttribute("data-target"));
      if (!area) return;
      var parts = btn.getAttribute("data-insert-outline").split("|");
      var text = parts.map(function (h, i) { return ["一", "二", "三", "四", "五"][i] + "、" + h + "\n\n"; }).join("");
      if (area.value.trim() && !window.confirm("详细材料已有内容，是否在末尾追加建议框架？")) return;
      area.value = area.value.trim() ? area.value.replace(/\s+$/, "") + "\n\n" + text : text;
      area.dispatchEvent(new Event("input", { bubbles: true }));
      area.focus();
      return;
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-case-form]").forEach(initForm);
  });
})();
