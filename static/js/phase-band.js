// The pathway's phase band (patient page, transplant page): on a narrow screen it scrolls sideways, so bring
// the current phase into view instead of leaving it off-screen to the right.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".phase-band").forEach((band) => {
    const current = band.querySelector(".step.current");
    if (current && band.scrollWidth > band.clientWidth) {
      band.scrollLeft = current.offsetLeft - band.offsetLeft - (band.clientWidth - current.offsetWidth) / 2;
    }
  });
});
