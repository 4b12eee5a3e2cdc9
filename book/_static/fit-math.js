// Fits a formula that is wider than the column it sits in: first it shrinks, but never below MIN_PX (MathJax 3
// cannot break lines, and a phone's 7-11 px formulas could not be read); a formula still too wide then scrolls
// sideways inside its own box (class math-scrolls, see course.css), never the page.
// Formulas are measured again when the column changes width and when a folded <details> opens.
// When the first pass is done, <html data-math-fit="done"> tells the site's browser test.
(function () {
  "use strict";
  const MIN_PX = 15; // never shrink a formula's font below this many CSS pixels (the text around it is 16)

  function column(el) {
    let box = el.parentElement;
    while (box && getComputedStyle(box).display.startsWith("inline")) box = box.parentElement;
    return box;
  }

  // How much wider than its room a formula is: a displayed one scrolls inside its own box (so its
  // scrollWidth is the formula's true width); an inline one is measured against the column around it.
  function excess(el) {
    if (el.getAttribute("display") === "true") return el.scrollWidth / Math.max(1, el.clientWidth - 2);
    const box = column(el);
    if (!box) return 1;
    const style = getComputedStyle(box);
    const room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 2;
    const math = el.querySelector(":scope > mjx-math") || el;
    return Math.max(math.getBoundingClientRect().width, math.scrollWidth) / Math.max(1, room);
  }

  function fit(el) {
    if (el.dataset.fitBase === undefined) el.dataset.fitBase = el.style.fontSize || "100%";
    const base = parseFloat(el.dataset.fitBase);
    el.style.fontSize = el.dataset.fitBase;
    el.classList.remove("math-scrolls");
    if (!el.getClientRects().length) return; // not shown now: folded away, or in a closed sidebar
    const smallest = Math.min(1, MIN_PX / parseFloat(getComputedStyle(el).fontSize));
    let scale = 1;
    for (let i = 0; i < 4; i++) { // shrinking is not quite linear (rounding, fixed spaces): check again
      const ratio = excess(el);
      if (ratio <= 1 || scale <= smallest) break;
      scale = Math.max(smallest, scale / ratio);
      el.style.fontSize = base * scale + "%";
    }
    if (excess(el) > 1) el.classList.add("math-scrolls");
  }

  function fitAll(root) {
    (root || document).querySelectorAll("mjx-container").forEach(fit);
  }

  let pending = false;
  function refit() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () {
      pending = false;
      fitAll();
    });
  }

  function start() {
    fitAll();
    document.documentElement.dataset.mathFit = "done";
    if (window.ResizeObserver) {
      let lastWidth = null;
      new ResizeObserver(function (entries) {
        const width = entries[0].contentRect.width;
        if (width !== lastWidth) {
          lastWidth = width;
          refit();
        }
      }).observe(document.querySelector("article") || document.body);
    }
    window.addEventListener("resize", refit);
    document.addEventListener("toggle", function (event) { fitAll(event.target); }, true);
  }

  window.addEventListener("load", function () {
    const ready = window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
    if (ready) ready.then(start);
    else start();
  });
})();
