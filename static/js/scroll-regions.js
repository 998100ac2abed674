// A table (.table-responsive) or phase band (.phase-band) wider than its scroll box must be scrollable by keyboard (WCAG 2.1.1): the box becomes
// a named region with a tab stop, named by the table's caption or aria-label, else the nearest heading before it.
// Boxes that do not scroll get no tab stop. Attributes a template sets itself (a phase band's role="list") are kept.
(() => {
  "use strict";
  const nameFor = (box) => {
    const table = box.querySelector("table");
    const caption = table?.caption?.textContent.trim() || table?.getAttribute("aria-label");
    if (caption) return caption;
    const headings = [...document.querySelectorAll("h1, h2, h3, h4")].filter(
      (h) => h.compareDocumentPosition(box) & Node.DOCUMENT_POSITION_FOLLOWING,
    );
    return headings.length ? headings[headings.length - 1].textContent.trim() : document.title;
  };
  const update = () => {
    for (const box of document.querySelectorAll(".table-responsive, .phase-band")) {
      const scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.tabIndex = 0;
        if (!box.hasAttribute("role")) {
          box.setAttribute("role", "region");
          box.dataset.rtRole = "script";
        }
        if (!box.hasAttribute("aria-label") && !box.hasAttribute("aria-labelledby")) {
          box.setAttribute("aria-label", nameFor(box));
          box.dataset.rtLabel = "script";
        }
        box.dataset.rtRegion = "script";
      } else if (!scrolls && box.dataset.rtRegion === "script") {
        box.removeAttribute("tabindex");
        if (box.dataset.rtRole === "script") box.removeAttribute("role");
        if (box.dataset.rtLabel === "script") box.removeAttribute("aria-label");
        delete box.dataset.rtRegion;
        delete box.dataset.rtLabel;
        delete box.dataset.rtRole;
      }
    }
  };
  update();
  window.addEventListener("resize", update);
  document.addEventListener("htmx:afterSettle", update);
})();
