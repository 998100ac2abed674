// GOV.UK's error summary (templates/_error_summary.html): focus moves to it when the page loads, so a screen
// reader reads the problems first; each link focuses its field and scrolls its label into view. Browsers' own
// validation bubbles are turned off on every form: the server's messages, in words, are the ones shown.
(() => {
  "use strict";
  for (const form of document.forms) form.noValidate = true;

  const summary = document.querySelector("[data-error-summary]");
  if (!summary) return;
  summary.focus();

  summary.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-error-link]");
    if (!link) return;
    const field = document.getElementById(link.dataset.errorLink);
    if (!field) return;
    event.preventDefault();
    const legend = field.closest("fieldset")?.querySelector("legend");
    const label = legend || document.querySelector(`label[for="${CSS.escape(field.id)}"]`) || field;
    label.scrollIntoView();
    field.focus({ preventScroll: true });
  });
})();
