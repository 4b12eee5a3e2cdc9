"""The course website: built offline from the notebooks, served on localhost, read in a real browser.

Builds the site with scripts/build_book.py (what ``./course.sh book`` runs) into a temporary folder, serves it
on 127.0.0.1, and opens every page in Chromium through Playwright at 1400 px and 400 px: HTTP 200, every
``$...$`` and ``$$...$$`` of the page's source typeset by MathJax with no error, every image loaded, no request
to any host but localhost, no console error, every notebook in the sidebar, nothing wider than the viewport
and no prose scrolling sideways (solutions and derivations unfolded); at 400 px no formula below 14 px and no
figure text below 8 px (a wider formula or figure scrolls in its own box), code never wraps its lines. The
built-in search must find a word that only one notebook uses, for each notebook. Screenshots land in
test-artifacts/book-*.png.
Needs Chromium (Debian's package ``chromium``); the browser tests are skipped with a message otherwise.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import urllib.parse
from collections import Counter
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest
from chromium import ARTIFACTS, CHROMIUM
from website import build_book, load_module

from helpers.notebooks import course_notebooks
from helpers.paths import COURSE_DIR, PROJECT_ROOT

ROOT = PROJECT_ROOT
NEEDS_CHROMIUM = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine: the website's browser "
                                    "test needs Debian's package 'chromium' (sudo apt-get install chromium)")
WIDTHS = {"wide": 1400, "phone": 400}
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


NOTEBOOK_PAGES = [f"notebooks/{p.stem}" for p in course_notebooks()]
PAGES = ["index", *NOTEBOOK_PAGES, *build_book.REFERENCE_PAGES, "instructors", "search", "genindex"]


# --- what the sources say -----------------------------------------------------------------------------------

def count_math(markdown: str) -> int:
    """How many formulas a page's MyST source has: $$...$$ blocks and $...$ in running text, not in code."""
    text = re.sub(r"^```.*?^```", "", markdown, flags=re.S | re.M)
    text = re.sub(r"`[^`\n]+`", "", text)
    display = len(re.findall(r"\$\$.+?\$\$", text, flags=re.S))
    text = re.sub(r"\$\$.+?\$\$", "", text, flags=re.S)
    inline = len(re.findall(r"(?<![\\$])\$(?=\S)[^$\n]*?[^\s\\]\$(?!\d)", text))
    return display + inline


def page_markdown(source: Path, page: str) -> str:
    path = source / f"{page}.ipynb"
    if path.exists():
        return "\n\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
    path = source / f"{page}.md"
    return path.read_text() if path.exists() else ""


def words(markdown: str) -> Counter:
    text = re.sub(r"\$\$.+?\$\$|\$[^$\n]+\$|`[^`\n]+`|\(http[^)]*\)", " ", markdown, flags=re.S)
    return Counter(w.lower() for w in re.findall(r"\b[A-Za-z]{7,}\b", text))


def distinctive_words(source: Path) -> dict[str, str]:
    """For each notebook page, its most frequent word of 7+ letters that no other page of the site uses."""
    counts = {page: words(page_markdown(source, page)) for page in ["index", *NOTEBOOK_PAGES]}
    chosen = {}
    for page in NOTEBOOK_PAGES:
        others = set().union(*(set(c) for p, c in counts.items() if p != page))
        unique = [(n, w) for w, n in counts[page].items() if w not in others]
        assert unique, f"{page} has no word of its own to search for"
        chosen[page] = max(unique)[1]
    return chosen


class TextOnly(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self.skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def visible_text(page_html: str) -> str:
    parser = TextOnly()
    parser.feed(page_html)
    text = " ".join(" ".join(parser.parts).split())
    return text.translate(str.maketrans("‘’“”", "''\"\""))      # Sphinx's smart quotes, back to plain ones


# --- the build ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(book_site):
    return book_site            # one build per test session, shared with tests/test_slides.py (tests/conftest.py)


def test_the_build_makes_the_landing_page_and_one_page_per_notebook(site):
    html_dir, source = site
    for page in PAGES:
        assert (html_dir / f"{page}.html").is_file(), page
    landing = (html_dir / "index.html").read_text()
    text = visible_text(landing)
    for path in course_notebooks():
        summary = build_book.summarize(nbformat.read(path, as_version=4), f"notebooks/{path.stem}")
        assert summary.minutes > 0 and len(summary.objectives) >= 3, (path.name, summary)
        assert summary.title in text and summary.time in text
        assert all(re.split(r"[$`*]", objective)[0][:30] in text for objective in summary.objectives), path.name
        assert f'href="notebooks/{path.stem}.html"' in landing
        student = f"student/{path.name}"
        assert (COURSE_DIR / student).exists() and path.name in landing
    assert "student-notebooks.zip" in text and "./course.sh lab" in text and "./course.sh test" in text
    downloads = [p.name for p in (html_dir / "_downloads").rglob("*") if p.is_file()]
    assert "student-notebooks.zip" in downloads and len(downloads) == len(NOTEBOOK_PAGES) + 1


def test_pages_read_like_a_book_solutions_folded_and_no_tool_markers(site):
    html_dir, _ = site
    for page in NOTEBOOK_PAGES:
        text = (html_dir / f"{page}.html").read_text()
        nb = nbformat.read(ROOT / f"{page}.ipynb", as_version=4)
        solutions = sum("exercise-solution" in c.metadata.get("tags", []) for c in nb.cells)
        assert text.count("tag_exercise-solution tag_hide-input") == solutions, page
        assert text.count("Show the solution") >= solutions
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "NBVAL_", "IntProgress(", "widget-view+json"):
            assert marker not in text, f"{page} shows {marker!r}"
        assert "mathjax/tex-chtml-full.js" in text and "cdn" not in text.lower(), page
        assert f'href="../slides/{page.split("/")[-1]}.html"' in text, f"{page} does not link its slides"
    assert (html_dir / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()


def test_launch_buttons_come_from_the_one_repository_setting_and_are_hidden_while_it_is_unset(site):
    html_dir, _ = site
    conf = load_module("book_conf", ROOT / "book" / "conf.py")
    assert conf.course_repository_url == "" and conf.launch_settings("") == {}
    text = (html_dir / f"{NOTEBOOK_PAGES[0]}.html").read_text()
    assert "binder" not in text.lower() and "colab" not in text.lower() and "Binder" not in \
        (html_dir / "index.html").read_text()
    options = conf.launch_settings("https://github.com/OWNER/REPO/")
    assert options["repository_url"] == "https://github.com/OWNER/REPO"
    assert options["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert options["path_to_docs"] == "" and NOTEBOOK_PAGES[0].startswith("notebooks/")   # page path = repo path


def test_a_notebook_becomes_a_book_page_without_changing_the_notebook():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 09 · A title\n\n*About 25 minutes.*\n\n**Learning objectives.** You can\n\n"
                                      "1. do $x$ — 10 min;\n2. and do\n   more.\n"),
        nbformat.v4.new_code_cell("def f(x):\n    # BEGIN SOLUTION\n    return x  # SOLUTION\n    # END SOLUTION",
                                  metadata={"tags": ["exercise-solution"]}),
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nexercises.check('f', f)",
                                  metadata={"tags": ["exercise-check"]}),
        nbformat.v4.new_code_cell("display(bar)", outputs=[nbformat.v4.new_output("display_data", data={
            "application/vnd.jupyter.widget-view+json": {"model_id": "x"},
            "text/plain": "IntProgress(value=0, description='training', max=3000)"})]),
    ])
    before = nbformat.writes(nb)
    page = build_book.book_page(nb)
    assert nbformat.writes(nb) == before
    solution, check, progress = page.cells[1:]
    assert solution.source == "def f(x):\n    return x"
    assert solution.metadata.tags == ["exercise-solution", "hide-input"]
    assert solution.metadata.mystnb["code_prompt_show"] == "Show the solution"
    assert check.source == "exercises.check('f', f)" and check.metadata.tags == ["exercise-check"]
    assert progress.outputs[0].data == {"text/plain": "[a progress bar (training): it counts to 3000 while the cell "
                                                      "runs in Jupyter]"}
    summary = build_book.summarize(nb, "notebooks/09_x")
    assert (summary.title, summary.minutes) == ("09 · A title", 25)
    assert summary.objectives == ["do $x$ — 10 min;", "and do more."]


def test_the_source_formula_count_is_what_it_seems():
    assert count_math(r"a $x$ and $$y = 1$$ but `$z$` and \$5, $ 3 $ no; $\alpha$.") == 3
    assert count_math("```python\nx = '$a$'\n```\n$$\na\n$$") == 1


# --- in the browser -----------------------------------------------------------------------------------------

class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(site):
    html_dir, _ = site
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(html_dir)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class Visit:
    """One browser page with everything it requested, every failed response and every console error."""

    def __init__(self, browser, width: int, dark: bool = False):
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        if dark:
            self.context.add_init_script("localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark')")
        self.context.route(re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/]).*"), self.refuse)
        self.page = self.context.new_page()
        self.requests, self.failures, self.errors, self.refused = [], [], [], []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("response", lambda r: r.status >= 400 and self.failures.append(f"{r.status} {r.url}"))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def refuse(self, route):
        if route.request.url.startswith(("data:", "blob:")):
            return route.continue_()
        self.refused.append(route.request.url)
        return route.abort()

    def open(self, url: str):
        response = self.page.goto(url, wait_until="load", timeout=60_000)
        assert response is not None and response.status == 200, f"{url}: HTTP {response and response.status}"
        self.page.wait_for_function("document.documentElement.dataset.mathFit === 'done' && "
                                    "document.documentElement.dataset.figuresFit === 'done'", timeout=60_000)
        return response

    def close(self):
        self.context.close()


def luminance(css_colour: str) -> float:
    """0 for black to 1 for white, from a computed 'rgb(r, g, b)' or 'rgba(...)' colour."""
    r, g, b = (int(v) for v in re.findall(r"[\d.]+", css_colour)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


IMAGES_LOADED = "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
BROKEN_IMAGES = "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
# Every shown element must lie within the viewport, except inside a box that scrolls sideways; such a box is
# allowed only for a wide table a cell printed (Keras's model summary), a line of code, a formula that is already
# at its smallest size (PHONE_SIZES checks that) and a figure kept legible, never for prose.
OVERFLOWS = """() => {
  const W = document.documentElement.clientWidth, bad = [];
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
    (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
  const say = (e, what) => bad.push(name(e) + ' ' + what + ': ' + e.textContent.trim().slice(0, 80));
  const overflow = e => getComputedStyle(e).overflowX;
  const inScroller = e => {
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement)
      if (/auto|scroll/.test(overflow(a))) return true;
    return false;
  };
  const allowed = e => e.closest('.cell_output .output.text_html') !== null ||  // a wide table a cell printed
    (e.matches('.cell_input pre, div.highlight pre') && !e.closest('.cell_output')) ||  // code keeps its lines
    e.matches('mjx-container[display="true"], mjx-container.math-scrolls') ||  // a formula at its smallest size
    (e.matches('.cell_output') && e.querySelector(':scope > img.figure-scrolls') !== null);  // a figure kept legible
  if (document.documentElement.scrollWidth > W + 1)
    bad.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + W);
  for (const e of document.body.querySelectorAll('*')) {
    const wider = e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1;
    const r = e.getBoundingClientRect();
    const outside = r.right > W + 1 || r.left < -1;
    if (!wider && !outside) continue;
    if (r.width === 0 || r.height === 0 || getComputedStyle(e).visibility === 'hidden') continue;
    if (e.closest('mjx-assistive-mml')) continue;   // MathJax's copy for screen readers, clipped on purpose
    const shown = e.closest('.bd-article, .bd-sidebar-secondary');
    const mathBox = e.matches('.math') || e.closest('mjx-container');  // checked below, by the formula's own box
    if (wider && /auto|scroll/.test(overflow(e))) {
      if (!allowed(e)) say(e, 'scrolls sideways (' + e.scrollWidth + ' > ' + e.clientWidth + ')');
    } else if (wider && shown && !mathBox && !inScroller(e)) {
      say(e, (overflow(e) === 'visible' ? 'has content running out of it' : 'cuts off its content') +
        ' (' + e.scrollWidth + ' > ' + e.clientWidth + ')');
    }
    if (outside && !inScroller(e))
      say(e, 'runs past the viewport (' + Math.round(r.left) + '..' + Math.round(r.right) + ' of ' + W + ')');
  }
  for (const m of document.querySelectorAll('mjx-container > mjx-math')) {   // a formula cut off by its box
    const r = m.getBoundingClientRect();
    if (r.width === 0) continue;
    for (let a = m.parentElement; a && a !== document.body; a = a.parentElement) {
      if (overflow(a) === 'visible') continue;
      if (/auto|scroll/.test(overflow(a))) break;      // scrolls: the rest of the formula is a swipe away
      const box = a.getBoundingClientRect();
      if (r.left < box.left - 1 || r.right > box.right + 1) say(m.parentElement, 'is cut off by ' + name(a) +
        ' (' + Math.round(r.left) + '..' + Math.round(r.right) + ' in ' + Math.round(box.left) + '..' +
        Math.round(box.right) + ')');
      break;
    }
  }
  return bad.slice(0, 12);
}"""


def check_fits(visit: Visit, page: str, width_name: str, dark: bool = False) -> None:
    """At the viewport's present width, with every solution and derivation unfolded, nothing overflows."""
    p = visit.page
    p.evaluate("document.querySelectorAll('article details').forEach(d => { d.open = true; })")
    try:
        p.wait_for_function(f"({OVERFLOWS})().length === 0", timeout=15_000)
    except Exception:
        pytest.fail(f"{page} at {width_name} width: " + "\n".join(p.evaluate(OVERFLOWS)))
    wrapped = p.evaluate("Array.from(document.querySelectorAll('article .cell_input pre'))"
                         ".filter(e => getComputedStyle(e).whiteSpace !== 'pre').length")
    assert wrapped == 0, f"{page}: {wrapped} code cells wrap their lines (a wrapped comment reads as bad indentation)"
    if width_name == "phone":
        check_phone_sizes(p, page)
    p.evaluate("document.querySelectorAll('article details').forEach(d => { d.open = false; })")
    p.evaluate("window.scrollTo(0, 0)")
    name = f"book-{page.replace('/', '-')}-{width_name}{'-dark' if dark else ''}.png"
    p.screenshot(path=str(ARTIFACTS / name))


# The rendered size of every shown formula (its font, in CSS px) and of the smallest text in every figure of a
# cell's output: the course draws figures with helpers/plots.py's COURSE_STYLE, so a label of its smallest font is
# FIGURE_TEXT_PX high in the PNG and img.width / img.naturalWidth times that on the screen.
PHONE_SIZES = """(figureTextPx) => {
  const shown = e => e.getClientRects().length > 0 && !e.closest('mjx-assistive-mml');
  const formulas = Array.from(document.querySelectorAll('article mjx-container')).filter(shown)
    .map(e => ({px: parseFloat(getComputedStyle(e).fontSize), tex: e.closest('[display]') ? 'display' : 'inline',
                text: (e.querySelector('mjx-assistive-mml') || e).textContent.trim().slice(0, 60)}));
  const figures = Array.from(document.querySelectorAll('article .cell_output img')).filter(i => i.naturalWidth > 0)
    .filter(shown).map(i => ({px: figureTextPx * i.getBoundingClientRect().width / i.naturalWidth,
                              natural: i.naturalWidth, shown: Math.round(i.getBoundingClientRect().width)}));
  const backToTop = document.querySelector('#pst-back-to-top');
  return {formulas, figures, backToTopShown: !!backToTop && getComputedStyle(backToTop).display !== 'none'};
}"""
SMALLEST_FORMULA_PX = 14     # the text around a formula is 16 px on a phone; MathJax's own size about 19-20 px
SMALLEST_FIGURE_TEXT_PX = 8  # a figure's smallest label (tick labels, legends), as a phone shows it


def figure_text_px() -> float:
    """How high, in PNG pixels, the smallest text of a course figure is (its font size in points at its dpi)."""
    from helpers.plots import COURSE_STYLE

    points = min(COURSE_STYLE[k] for k in ("font.size", "axes.titlesize", "axes.labelsize", "legend.fontsize",
                                           "xtick.labelsize", "ytick.labelsize"))
    return points * COURSE_STYLE["savefig.dpi"] / 72


def check_phone_sizes(p, page: str) -> dict:
    """At 400 px, every solution and derivation unfolded: no formula below 14 px, no figure text below 8 px, and
    no "Back to top" button floating over the text."""
    sizes = p.evaluate(PHONE_SIZES, figure_text_px())
    small = [f for f in sizes["formulas"] if f["px"] < SMALLEST_FORMULA_PX - 0.01]
    assert not small, f"{page}: {len(small)} formulas below {SMALLEST_FORMULA_PX} px on a phone, e.g. {small[:3]}"
    unreadable = [f for f in sizes["figures"] if f["px"] < SMALLEST_FIGURE_TEXT_PX - 0.01]
    assert not unreadable, f"{page}: figure text below {SMALLEST_FIGURE_TEXT_PX} px on a phone: {unreadable[:3]}"
    assert not sizes["backToTopShown"], f"{page}: the 'Back to top' button floats over the text on a phone"
    smallest = {"page": page, "formulas": len(sizes["formulas"]),
                "smallest_display_formula_px": min((f["px"] for f in sizes["formulas"] if f["tex"] == "display"),
                                                   default=None),
                "smallest_inline_formula_px": min((f["px"] for f in sizes["formulas"] if f["tex"] == "inline"),
                                                  default=None),
                "smallest_figure_text_px": min((f["px"] for f in sizes["figures"]), default=None)}
    with (ARTIFACTS / "phone-sizes.jsonl").open("a") as log:      # what the screenshots show, to quote
        log.write(json.dumps(smallest) + "\n")
    return sizes


def check_requests(visit: Visit, page: str) -> None:
    assert visit.errors == [], f"{page}: console errors {visit.errors}"
    assert visit.failures == [], f"{page}: failed requests {visit.failures}"
    assert visit.refused == [], f"{page}: requests to other hosts {visit.refused}"
    hosts = {urllib.parse.urlsplit(u).hostname for u in visit.requests if u.startswith("http")}
    assert hosts <= LOCAL_HOSTS, hosts


@NEEDS_CHROMIUM
@pytest.mark.browser
@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads_typesets_its_maths_and_fits_a_projector_and_a_phone(browser, server, site, page):
    """Loaded at 1400 px, then narrowed to 400 px (the formulas are fitted again, as when a window shrinks)."""
    _, source = site
    visit = Visit(browser, WIDTHS["wide"])
    try:
        p = visit.page
        visit.open(f"{server}/{page}.html")
        p.wait_for_function(IMAGES_LOADED, timeout=30_000)
        assert p.evaluate(BROKEN_IMAGES) == []
        expected = count_math(page_markdown(source, page))
        found = p.locator("article mjx-container").count()
        assert found == expected, f"{page}: {found} formulas typeset, the source has {expected}"
        assert p.locator("mjx-merror, [data-mjx-error]").count() == 0, f"{page}: a MathJax error"
        links = p.eval_on_selector_all(".bd-sidebar-primary a[href]", "as => as.map(a => new URL(a.href).pathname)")
        for notebook in NOTEBOOK_PAGES:
            assert f"/{notebook}.html" in links, f"the sidebar of {page} has no link to {notebook}"
        for width_name, width in WIDTHS.items():
            p.set_viewport_size({"width": width, "height": 900})
            check_fits(visit, page, width_name)
        check_requests(visit, page)
    finally:
        visit.close()


@NEEDS_CHROMIUM
@pytest.mark.browser
def test_a_phone_opens_a_notebook_in_dark_mode_and_it_stays_readable(browser, server, site):
    """Loaded at 400 px in dark mode (the formulas fitted from the start), then widened to 1400 px."""
    page = NOTEBOOK_PAGES[0]
    visit = Visit(browser, WIDTHS["phone"], dark=True)
    try:
        p = visit.page
        visit.open(f"{server}/{page}.html")
        assert p.evaluate("document.documentElement.dataset.theme") == "dark"
        p.wait_for_function(IMAGES_LOADED, timeout=30_000)
        # figures sit on a light backing (the theme's, under matplotlib's opaque white), never on the dark page
        backgrounds = p.eval_on_selector_all("article .cell_output img", "is => is.map(i => "
                                             "getComputedStyle(i).backgroundColor)")
        assert backgrounds and all(luminance(b) > 0.6 for b in backgrounds), backgrounds
        body, text = p.evaluate("[getComputedStyle(document.body).backgroundColor, "
                                "getComputedStyle(document.querySelector('article p')).color]")
        assert luminance(body) < 0.2 and luminance(text) > 0.7, (body, text)
        for width_name in ("phone", "wide"):
            p.set_viewport_size({"width": WIDTHS[width_name], "height": 900})
            check_fits(visit, page, width_name, dark=True)
        check_requests(visit, page)
    finally:
        visit.close()


@NEEDS_CHROMIUM
@pytest.mark.browser
def test_the_search_finds_a_word_of_each_notebook(browser, server, site):
    _, source = site
    visit = Visit(browser, WIDTHS["wide"])
    try:
        for page, word in distinctive_words(source).items():
            visit.open(f"{server}/search.html?q={urllib.parse.quote(word)}")
            results = visit.page.locator("#search-results ul.search li a")
            visit.page.wait_for_function("document.querySelector('#search-results .search-summary') !== null && "
                                         "document.querySelector('#search-results .search-summary').textContent"
                                         ".trim() !== ''", timeout=30_000)
            links = [urllib.parse.urlsplit(h).path for h in results.evaluate_all("as => as.map(a => a.href)")]
            assert any(link.endswith(f"/{page}.html") for link in links), f"searching {word!r}: {links}"
        visit.page.screenshot(path=str(ARTIFACTS / "book-search-wide.png"))
        assert visit.errors == [] and visit.refused == []
    finally:
        visit.close()
