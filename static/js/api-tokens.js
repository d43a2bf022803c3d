/* The API token pages: copy a new token's secret, confirm a revoke. Declared in the templates by data
 * attributes (the CSP runs no inline script); without JavaScript the secret can still be selected and
 * copied by hand, and a revoke posts without asking. */
(function () {
  "use strict";

  function say(button, text) {
    var status = button.closest("section") && button.closest("section").querySelector("[data-copy-status]");
    if (status) status.textContent = text;
  }

  // <button data-copy-from="id">: copies that input's value. A <button>, so Enter and Space work.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy-from]");
    if (!button) return;
    var input = document.getElementById(button.getAttribute("data-copy-from"));
    if (!input) return;
    var copied = button.getAttribute("data-copied"), failed = button.getAttribute("data-copy-failed");
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(
        function () { say(button, copied); },
        function () { say(button, failed); });
      return;
    }
    // Plain http (a test or an intranet address): the clipboard API is refused, the old command is not.
    var done = false;
    try { done = document.execCommand("copy"); } catch (e) { done = false; }
    say(button, done ? copied : failed);
  });

  // <form data-confirm="question">: asks before it posts (a revoke cannot be undone).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-confirm]")) return;
    if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
  });
})();
