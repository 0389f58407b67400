/* kepu — small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // Live character counters: <textarea data-counter="3000"> + <span data-count-for="id">.
  function updateCounter(el) {
    var out = document.querySelector('[data-count-for="' + el.id + '"]');
    if (!out) return;
    var n = Array.from(el.value || "").length;
    out.textContent = n;
    var max = parseInt(el.getAttribute("data-maxlength") || "0", 10);
    var wrap = out.parentElement;
    if (wrap) wrap.classList.toggle("over", max > 0 && n > max);
  }
  document.addEventListener("input", function (e) {
    if (e.target && e.target.hasAttribute && e.target.hasAttribute("data-counter")) updateCounter(e.target);
  });
  function initCounters(root) {
    (root || document).querySelectorAll("[data-counter]").forEach(updateCounter);
  }
  document.addEventListener("DOMContentLoaded", function () { initCounters(document); });
  document.addEventListener("htmx:afterSettle", function (e) { initCounters(e.target); });

  // Header menus (<details data-menu>): they work without this; here one menu is open
  // at a time, and a click outside or Escape closes it (focus back on its summary).
  function closeMenus(except) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (d) {
      if (d !== except) d.removeAttribute("open");
    });
  }
  document.addEventListener("click", function (e) {
    var menu = e.target.closest && e.target.closest("details[data-menu]");
    closeMenus(menu);
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    var menu = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("details[data-menu][open]") : null;
    closeMenus(null);
    if (menu) menu.querySelector("summary").focus();
  });

  // Copy buttons: <button data-copy="#id" hidden> copies the text (or value) of #id;
  // data-copy="text" copies that text.
  // Rendered hidden: without JavaScript the text itself is there to select.
  function initCopy(root) {
    (root || document).querySelectorAll("[data-copy][hidden]").forEach(function (btn) {
      if (navigator.clipboard || document.queryCommandSupported) btn.hidden = false;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { initCopy(document); });
  document.addEventListener("htmx:afterSettle", function (e) { initCopy(e.target); });
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("button[data-copy]");
    if (!btn) return;
    // data-copy="#id": the text of that element; any other value: that text itself
    var spec = btn.getAttribute("data-copy") || "";
    var text;
    if (spec.charAt(0) === "#") {
      var target = document.getElementById(spec.slice(1));
      if (!target) return;
      text = "value" in target && target.tagName !== "BUTTON" ? target.value : target.textContent;
    } else {
      text = spec;
    }
    var label = btn.textContent;
    function done(ok) {
      btn.textContent = ok ? "已复制" : "请手动复制";
      btn.classList.toggle("is-copied", ok);
      window.setTimeout(function () { btn.textContent = label; btn.classList.remove("is-copied"); }, 2000);
    }
    function fallback() {
      var ta = document.createElement("textarea");
      ta.value = text.trim();
      ta.setAttribute("readonly", "");
      ta.style.position = "fixed";
      ta.style.opacity = "0";
      document.body.appendChild(ta);
      ta.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
      document.body.removeChild(ta);
      done(ok);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text.trim()).then(function () { done(true); }, fallback);
    } else {
      fallback();
    }
  });

  // Keyboard focus never hides under a sticky action bar (works steps, case form). CSS
  // scroll-padding covers small fields; a tall one (a textarea, a drop zone) that is only
  // partly in view is not scrolled by the browser, so scroll it clear of the bar here.
  document.addEventListener("focusin", function (e) {
    var el = e.target;
    if (!el || !el.getBoundingClientRect) return;
    document.querySelectorAll(".step-actions, .case-actions").forEach(function (bar) {
      if (bar.contains(el) || window.getComputedStyle(bar).position !== "sticky") return;
      var box = (el.closest && el.closest(".dropzone")) || el;
      var r = box.getBoundingClientRect();
      var top = bar.getBoundingClientRect().top;
      var overlap = r.bottom + 8 - top;
      if (overlap > 0) window.scrollBy(0, Math.min(overlap, Math.max(r.top - 16, 0)));
    });
  });

  // Error summary links (templates/_macros/forms.html): focus the field and show its label.
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest(".error-summary a[href^='#']");
    if (!a) return;
    var el = document.getElementById(a.getAttribute("href").slice(1));
    if (!el) return;
    e.preventDefault();
    var box = el.closest(".field") || el;
    box.scrollIntoView({ block: "center" });
    if (typeof el.focus === "function") el.focus({ preventScroll: true });
  });

  // Confirm before destructive actions: <button data-confirm="确定删除？">
  document.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);
})();
