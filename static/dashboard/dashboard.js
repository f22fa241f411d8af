/* autotrader dashboard: the little that htmx does not do.
 *
 * - toasts for the controls' results (HX-Trigger: {"toast": {...}});
 * - polling paused while the tab is hidden, and a refresh of every live panel
 *   as soon as it becomes visible again (here rather than as an hx-trigger
 *   filter, which htmx would have to eval: the pages' Content-Security-Policy
 *   allows no eval);
 * - the running total of the enabled signal weights on the bot form;
 * - the log tail kept scrolled to its newest line;
 * - selects that reload their page when changed (the backtest form's bot).
 */
(function () {
  "use strict";

  function showToast(detail) {
    var box = document.getElementById("toasts");
    if (!box || !detail) return;
    var toast = document.createElement("div");
    toast.className = "toast " + (detail.level || "info");
    toast.setAttribute("role", detail.level === "error" ? "alert" : "status");
    toast.textContent = detail.message || "";
    box.appendChild(toast);
    setTimeout(function () { toast.remove(); }, detail.level === "error" ? 9000 : 4000);
  }

  document.addEventListener("toast", function (event) { showToast(event.detail); });

  // A poll ("every 5s") has no triggering event; controls and refreshes have one.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var config = event.detail && event.detail.requestConfig;
    if (document.visibilityState === "hidden" && config && !config.triggeringEvent) event.preventDefault();
  });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && window.htmx) {
      htmx.trigger(document.body, "tab-visible");
    }
  });

  function updateWeightTotal(form) {
    var out = form.querySelector("[data-weight-total]");
    if (!out) return;
    var total = 0;
    form.querySelectorAll("input[data-weight]").forEach(function (input) {
      var enabled = form.querySelector('input[name="' + input.dataset.weight + '"]');
      var box = input.closest(".signal-box");
      var on = !enabled || enabled.checked;
      if (box) box.classList.toggle("is-disabled", !on);
      var value = parseFloat(input.value);
      if (on && isFinite(value)) total += value;
    });
    var wrap = out.closest(".weight-total");
    var over = total > 1 + 1e-9;
    out.textContent = total.toFixed(2);
    if (wrap) {
      wrap.classList.toggle("over", over);
      var bar = wrap.querySelector(".bar span");
      if (bar) bar.style.width = Math.min(100, total * 100).toFixed(1) + "%";
      var note = wrap.querySelector("[data-weight-note]");
      if (note) note.textContent = over ? "more than 1.00: the bot will refuse it" : "of at most 1.00";
    }
  }

  function initForms(root) {
    (root || document).querySelectorAll("form[data-bot-form]").forEach(function (form) {
      if (form.dataset.weightsReady) return;
      form.dataset.weightsReady = "1";
      form.addEventListener("input", function () { updateWeightTotal(form); });
      form.addEventListener("change", function () { updateWeightTotal(form); });
      updateWeightTotal(form);
    });
  }

  function scrollLogs(root) {
    (root || document).querySelectorAll(".log").forEach(function (log) { log.scrollTop = log.scrollHeight; });
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[data-autosubmit]")) event.target.form.submit();
  });

  document.addEventListener("DOMContentLoaded", function () {
    initForms(document);
    scrollLogs(document);
  });
  document.addEventListener("htmx:afterSettle", function () { scrollLogs(document); });
})();
