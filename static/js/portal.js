/* The portal's few behaviours, declared in the templates by data attributes and attached here:
 * the Content-Security-Policy runs no inline script, no on…= handler and no eval (htmx's trigger
 * filters included), so whatever a page needs beyond htmx lives in this file. */
(function () {
  "use strict";

  // <select data-submit-on-change>: choosing is submitting (the tenant switch; a <noscript> button
  // stands in without JavaScript). requestSubmit, unlike submit(), runs the form's own checks.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches && select.matches("select[data-submit-on-change]") && select.form) {
      select.form.requestSubmit();
    }
  });

  // <form data-submit-once>: one order per click. The server is idempotent anyway; this only spares a
  // second request. Disabled after the submit has started, so the button's own value is still sent.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-submit-once]")) return;
    var buttons = form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]");
    setTimeout(function () {
      buttons.forEach(function (button) { button.disabled = true; });
    }, 0);
  });

  // Polling (hx-trigger="every …") pauses while the tab is hidden: htmx would evaluate a trigger filter
  // such as [document.visibilityState === 'visible'] with eval, which the CSP refuses, so the poll is
  // cancelled here instead. It goes on by itself when the tab is shown again.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (document.visibilityState !== "hidden" || !elt || !elt.getAttribute) return;
    if (/^\s*every\s/.test(elt.getAttribute("hx-trigger") || "")) event.preventDefault();
  });
})();
