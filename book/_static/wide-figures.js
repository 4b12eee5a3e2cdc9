// A figure squeezed into a phone's column becomes unreadable: Figure 3 of notebook 01, two panels 18 inches
// wide, would show its 12-point labels 3 px high in 370 px. So on a phone (the width at which course.css
// switches to its phone layout) each figure of a cell's output keeps at least the width at which its smallest
// text is MIN_TEXT_PX high, and scrolls sideways in its output box when that is wider than the column
// (course.css). On wider screens a figure fits the column, as a projector needs. The course draws every
// figure with helpers/plots.py's COURSE_STYLE: 100 dpi, smallest font 12 pt, so a label is 12 * 100 / 72
// pixels high in the PNG.
// When done, <html data-figures-fit="done"> tells the site's browser test.
(function () {
  "use strict";
  const PNG_TEXT_PX = (12 * 100) / 72;
  const MIN_TEXT_PX = 8;
  const PHONE = window.matchMedia("(max-width: 576px)");

  function fit(img) {
    if (!img.naturalWidth) return;
    const readable = Math.min(img.naturalWidth, Math.ceil((img.naturalWidth * MIN_TEXT_PX) / PNG_TEXT_PX));
    const room = img.parentElement.clientWidth;
    const scrolls = PHONE.matches && readable > room;
    img.classList.toggle("figure-scrolls", scrolls);
    img.style.width = scrolls ? readable + "px" : "";
  }

  function fitAll() {
    document.querySelectorAll(".bd-article .cell_output img").forEach(fit);
  }

  window.addEventListener("load", function () {
    fitAll();
    document.documentElement.dataset.figuresFit = "done";
    window.addEventListener("resize", fitAll);
    document.addEventListener("toggle", fitAll, true);
  });
})();
