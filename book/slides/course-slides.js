/* The course's static slides: a slide too tall for the projector is shrunk to fit (down to 70 %), once its
   formulas are typeset and its images loaded; the page records that it is ready for the tests. */
window.courseSlides = {
  MIN_SCALE: 0.7,
  fit(section, height) {
    section.style.zoom = "";
    const needed = section.scrollHeight;
    const scale = needed > height ? Math.max(this.MIN_SCALE, height / needed) : 1;
    if (scale < 1) section.style.zoom = scale.toFixed(3);
    section.dataset.fitScale = scale.toFixed(3);
    return scale;
  },
  fitCurrent(Reveal) {
    const section = Reveal.getCurrentSlide();
    if (section) this.fit(section, Reveal.getConfig().height);
  },
  start(Reveal) {
    const typeset = window.MathJax && MathJax.startup ? MathJax.startup.promise : Promise.resolve();
    const images = Array.from(document.images).map(i => i.complete ? null :
      new Promise(done => { i.onload = i.onerror = done; }));
    Reveal.on("slidechanged", () => this.fitCurrent(Reveal));
    Reveal.on("fragmentshown", () => this.fitCurrent(Reveal));
    Promise.all([typeset, ...images, new Promise(done => Reveal.isReady() ? done() : Reveal.on("ready", done))])
      .then(() => { this.fitCurrent(Reveal); document.documentElement.dataset.slides = "ready"; });
  }
};
