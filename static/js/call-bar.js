// The sticky "Call the unit" bar (templates/recovery/_my_call_unit.html) must never hide the control in focus
// (WCAG 2.4.11). app.css leaves room for it with scroll-padding, but a browser scrolls a focused control into view
// only when it is off screen, not when it is on screen behind the bar: then the page is scrolled up by the overlap.
(() => {
  "use strict";
  const bar = document.querySelector(".rt-call-bar");
  if (!bar) return;
  const clear = (element) => {
    const field = element.getBoundingClientRect();
    const cover = bar.getBoundingClientRect();
    if (field.bottom > cover.top && field.top < cover.bottom) {
      window.scrollBy({ top: field.bottom - cover.top + 16, behavior: "instant" });
    }
  };
  document.addEventListener("focusin", (event) => {
    if (bar.contains(event.target)) return;
    clear(event.target);
    requestAnimationFrame(() => clear(event.target));
  });
})();
