// The dashboard's triage queue: htmx swaps in a fresh copy every 30 s (hx-trigger on #alert-queue).
// This file only reports a failed refresh, reloads the whole page when the session has ended (the refresh was
// redirected to the login page), and skips a refresh while the keyboard focus is inside the queue so that nobody
// loses their place. The refresh time is left as the server wrote it: in the viewer's zone, with the zone's name,
// like every other time on the page (the browser's clock may be in another zone and would not say so).
(function () {
  function showError(show) {
    const notice = document.querySelector("#alert-queue .rt-refresh-error");
    if (notice) notice.classList.toggle("d-none", !show);
  }

  document.body.addEventListener("htmx:beforeRequest", (event) => {
    const queue = document.getElementById("alert-queue");
    if (queue && event.detail.elt === queue && queue.contains(document.activeElement)) {
      event.preventDefault(); // the next tick tries again
    }
  });

  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const queue = document.getElementById("alert-queue");
    const xhr = event.detail.xhr;
    if (!queue || !xhr || !xhr.responseURL) return;
    const asked = new URL(queue.getAttribute("hx-get"), window.location.href).pathname;
    if (new URL(xhr.responseURL).pathname !== asked) {
      event.detail.shouldSwap = false; // signed out: show the login page properly
      window.location.reload();
    }
  });

  document.body.addEventListener("htmx:afterSwap", () => showError(false));
  document.body.addEventListener("htmx:responseError", () => showError(true));
  document.body.addEventListener("htmx:sendError", () => showError(true));
})();
