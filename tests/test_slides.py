"""The course notebooks as slides: their metadata, the static reveal.js slides of the website, RISE, the guide.

The static slides are opened in Chromium at 1024x768 (a projector) from the website built once per test session
(tests/conftest.py): every slide is reached with the arrow key and fits the slide (shrunk to 70 % at most), the
maths is typeset, the images load, nothing is requested from any host but localhost and the console stays clean.
Three slides per notebook are saved in test-artifacts/slides-*.png. The live slideshow (RISE in JupyterLab) is
opened in tests/test_browser.py. Needs Chromium (Debian's package ``chromium``); the browser test is skipped with a
message otherwise.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from chromium import ARTIFACTS, CHROMIUM
from website import build_book

from helpers import slides
from helpers.exercises import EXERCISES
from helpers.notebooks import course_notebooks
from helpers.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT
BIN = Path(sys.executable).parent
NOTEBOOKS = course_notebooks()
SLIDE_TYPES = {"slide", "subslide", "fragment", "-", "skip", "notes"}


def md(source: str, kind: str = "-", tags: list[str] | None = None):
    return nbformat.v4.new_markdown_cell(source, metadata={"slideshow": {"slide_type": kind}, "tags": tags or []})


# --- the metadata on the course notebooks -------------------------------------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_cell_has_a_slide_type_chosen_for_teaching(path):
    nb = nbformat.read(path, as_version=4)
    types = [slides.slide_type(c) for c in nb.cells]
    assert set(types) <= SLIDE_TYPES and types[0] == "slide", path.name
    missing = [c.id for c in nb.cells if "slideshow" not in c.metadata]
    assert not missing, f"{path.name}: cells without slide metadata {missing} (see the README, 'Slides')"
    for cell, kind in zip(nb.cells, types, strict=True):
        tags = cell.metadata.get("tags", [])
        if {"exercise-solution", "exercise-check"} & set(tags):
            assert kind == "skip", f"{path.name} {cell.id}: a solution or check shows on the slides"
        if "exercise-prompt" in tags:
            assert kind == "slide", f"{path.name} {cell.id}: an exercise is not a 'your turn' slide of its own"
        if cell.cell_type == "markdown" and re.match(r"##[ \t]", cell.source):
            assert kind == "slide", f"{path.name} {cell.id}: a section does not start a slide"
    assert nb.metadata["rise"]["theme"] in ("white", "black"), "RISE's other themes load Google Fonts"
    assert 10 <= slides.count_slides(nb) <= 60


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_section_times_add_up_to_the_notebooks_time_and_the_lecture_to_50_minutes(path):
    nb = nbformat.read(path, as_version=4)
    stated = build_book.summarize(nb, path.stem).minutes
    assert sum(s.minutes for s in slides.sections(nb)) == stated, path.name
    plan = slides.lecture_plan(nb)
    assert plan.live and 20 <= plan.minutes <= 45, (path.name, plan.minutes)
    assert plan.minutes == sum(s.minutes for s in plan.live + plan.your_turn)
    assert all(s.kind != "try" for s in plan.live + plan.your_turn)
    assert sorted(s.title for s in plan.live + plan.your_turn + plan.own_time) == \
        sorted(s.title for s in slides.sections(nb))


def test_the_readmes_slide_counts_and_times_are_the_notebooks():
    """The README's table (Presenting in class) against the notebooks: rerun the numbers when this fails."""
    rows = {m.group(1): m.groups()[1:] for m in re.finditer(
        r"^\| (\d\d) [^|]*\| (\d+) \| (\d+) \| (\d+) min \| .*\((\d+) min\) \|$", (ROOT / "README.md").read_text(),
        re.M)}
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        static = slides.slides_notebook(build_book.book_page(nb))
        expected = (slides.count_slides(nb), sum(slides.slide_type(c) in ("slide", "subslide") for c in static.cells),
                    build_book.summarize(nb, path.stem).minutes, slides.lecture_plan(nb).minutes)
        assert tuple(map(int, rows.get(path.stem[:2], ()))) == expected, (path.name, expected)


# --- cutting a notebook into slides -------------------------------------------------------------------------

def test_blocks_keep_formulas_lists_code_and_folds_whole():
    text = ("# Title\n\nA paragraph\non two lines.\n\n$$\na = b\n\nc = d\n$$\n\n* one\n  more\n* two\n\n"
            "```python\nx = 1\n\ny = 2\n```\n\n<details>\n<summary>Why</summary>\n\nBecause.\n\n</details>")
    assert slides.blocks(text) == ["# Title", "A paragraph\non two lines.", "$$\na = b\n\nc = d\n$$", "* one\n  more",
                                   "* two", "```python\nx = 1\n\ny = 2\n```",
                                   "<details>\n<summary>Why</summary>\n\nBecause.\n\n</details>"]


def test_a_long_cell_becomes_slides_that_fit_and_a_derivation_comes_step_by_step():
    paragraph = "word " * 80                                             # five lines of 90 characters
    cell = md("## A section · 10 min\n\n" + "\n\n".join([paragraph] * 6) + "\n\nSo\n\n$$a = b$$\n\n$$b = c$$",
              "slide")
    cells = slides.split_markdown(cell)
    kinds = [slides.slide_type(c) for c in cells]
    assert kinds[0] == "slide" and kinds.count("subslide") == 1 and kinds[-2:] == ["fragment", "fragment"]
    for start in [i for i, k in enumerate(kinds) if k in ("slide", "subslide")]:
        page = [cells[start]] + [c for c in cells[start + 1:] if slides.slide_type(c) == "fragment"]
        assert sum(slides.height(b) for c in page for b in slides.blocks(c.source)) <= slides.SLIDE_LINES + 6


def test_folded_answers_go_to_the_speaker_notes_and_a_derivation_is_unfolded():
    cell = md("Text.\n\n<details><summary><b>What you should see</b></summary>\n\nThe answer.\n</details>\n\n"
              "<details>\n<summary><b>Derivation</b> (click to open)</summary>\n\nStep.\n</details>", "subslide")
    cells = slides.split_markdown(cell)
    assert [slides.slide_type(c) for c in cells] == ["subslide", "notes"]
    assert "**Derivation**" in cells[0].source and "Step." in cells[0].source and "answer" not in cells[0].source
    assert "The answer." in cells[1].source


def test_an_exercise_prompt_says_your_turn_with_its_time():
    cells = slides.split_markdown(md("### Exercise 9.1 — a thing · 15 min\n\nWrite `f`.", "slide",
                                     ["exercise-prompt"]))
    assert cells[0].source.startswith('<p class="your-turn">Your turn · 15 min</p>')
    untimed = slides.split_markdown(md("**Exercise 9.2 — b.** Write `g`.", "slide", ["exercise-prompt"]), 30)
    assert untimed[0].source.startswith('<p class="your-turn">Your turn · within the section\'s 30 min</p>')


def test_a_slides_notebook_drops_skipped_cells_hides_long_code_and_cuts_long_output():
    long_code = nbformat.v4.new_code_cell("\n".join(f"x{i} = {i}" for i in range(10)), outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="".join(f"line {i}\n" for i in range(30)))],
        metadata={"slideshow": {"slide_type": "subslide"}})
    widget = nbformat.v4.new_code_cell("w", outputs=[nbformat.v4.new_output("display_data", data={
        slides.WIDGET_MIME: {"model_id": "x"}, "image/png": "iVBOR", "text/plain": "W()"})])
    nb = nbformat.v4.new_notebook(cells=[md("# T", "slide"), md("hidden", "skip"), long_code, widget],
                                  metadata={"widgets": {"state": {}}})
    before = nbformat.writes(nb)
    out = slides.slides_notebook(nb)
    assert nbformat.writes(nb) == before
    assert [c.source for c in out.cells][0] == "# T" and len(out.cells) == 3 and "widgets" not in out.metadata
    assert "slides-hide-input" in out.cells[1].metadata.tags
    assert out.cells[1].outputs[0].text.count("\n") == slides.OUTPUT_LINES_SHOWN + 1
    assert slides.WIDGET_MIME not in out.cells[2].outputs[0].data and "image/png" in out.cells[2].outputs[0].data


def test_the_lecture_plan_takes_talks_in_order_and_leaves_exercises_and_try_it_to_the_students():
    nb = nbformat.v4.new_notebook(cells=[
        md("# 09 · T\n\n*About 100 minutes.*"), md("## 1. A · 20 min"), md("### Exercise 9.1 — e · 10 min", tags=[
            "exercise-prompt"]), md("## 2. B · 20 min"), md("## 3. C · 30 min"), md("## 4. D · 5 min"),
        md("## 5. Try it · 15 min")])
    plan = slides.lecture_plan(nb)
    assert [s.title for s in plan.live] == ["1. A", "2. B"] and [s.title for s in plan.your_turn] == []
    assert [s.title for s in plan.own_time] == ["Exercise 9.1 — e", "3. C", "4. D", "5. Try it"]
    assert plan.minutes == 40


# --- the instructor's guide ---------------------------------------------------------------------------------

def test_the_guide_has_a_plan_questions_demos_and_the_catalogues_slips_for_every_notebook():
    guide = build_book.instructors_guide(NOTEBOOKS)
    for path in NOTEBOOKS:
        title = build_book.summarize(nbformat.read(path, as_version=4), path.stem).title
        part = guide.split(f"## {title}\n")[1].split("\n## ")[0]
        for heading in ("A 50-minute lecture", "Live demos", "Discussion questions", "The most likely slips"):
            assert f"### {heading}" in part, (path.name, heading)
        assert part.count("* **Q.**") >= 2 and part.count("*Answer.*") >= 2, path.name
        assert f'href="slides/{path.stem}.html"' in part
    for name, exercise in EXERCISES.items():
        assert exercise.title in guide and f"`{name}`" in guide, exercise.title
        assert f"*{exercise.mistakes[0].name}*: {exercise.mistakes[0].hint}" in guide, exercise.title
    assert "em_stepper" in guide and "latent_explorer" in guide and "./course.sh present explorer" in guide


def test_the_guide_follows_the_catalogue():
    """Generated, not copied: a new slip in the catalogue appears in the guide."""
    import helpers.exercises  # as it is now: otter's tests re-import it (a fresh catalogue) in this process
    exercise = next(e for e in helpers.exercises.EXERCISES.values() if e.title.startswith("Exercise 1.1"))
    exercise.mistakes.insert(0, dataclasses.replace(exercise.mistakes[0], hint="A brand-new slip."))
    try:
        assert "A brand-new slip." in build_book.slips(1)
    finally:
        exercise.mistakes.pop(0)


# --- RISE and ./course.sh present ---------------------------------------------------------------------------

def test_rise_is_installed_and_enabled_in_the_courses_jupyterlab():
    pinned = (ROOT / "requirements.txt").read_text()
    assert re.search(r"^jupyterlab-rise==\d", pinned, re.M)
    lab = subprocess.run([str(BIN / "jupyter"), "labextension", "list"], capture_output=True, text=True)
    assert re.search(r"jupyterlab-rise v\S+ .*enabled.*OK", lab.stdout + lab.stderr), lab.stdout + lab.stderr
    server = subprocess.run([str(BIN / "jupyter"), "server", "extension", "list"], capture_output=True, text=True)
    assert re.search(r"jupyterlab_rise .*enabled", server.stdout + server.stderr), server.stdout + server.stderr


@pytest.mark.parametrize("args", [[], ["99"], ["5"]])
def test_present_says_what_it_can_show(args):
    result = subprocess.run([str(ROOT / "course.sh"), "present", *args], capture_output=True, text=True)
    assert result.returncode == 2
    assert "./course.sh present NN" in result.stderr and "./course.sh present explorer" in result.stderr
    assert "01 02 03 04 05 06" in result.stderr


def test_the_book_says_how_to_install_revealjs_when_it_is_missing(monkeypatch, tmp_path):
    monkeypatch.setattr(build_book, "NODE_MODULES", tmp_path / "node_modules")
    monkeypatch.setattr(build_book, "REVEAL", tmp_path / "node_modules" / "reveal.js")
    with pytest.raises(build_book.SlidesAssetsMissing, match=r"Run \./course\.sh setup.*npm"):
        build_book.build_slides(tmp_path / "html")


# --- the static slides in a browser -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(book_site):
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    html_dir, _ = book_site
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(html_dir)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


CURRENT = """() => {
  const s = Reveal.getCurrentSlide(), zoom = parseFloat(s.style.zoom || '1');
  const images = Array.from(s.querySelectorAll('img'));
  const text = Array.from(s.querySelectorAll('.jp-RenderedMarkdown')).map(m => m.innerText).join(' ');
  return {where: JSON.stringify(Reveal.getIndices()), scale: parseFloat(s.dataset.fitScale || '0'),
          height: s.scrollHeight * zoom, room: Reveal.getConfig().height,
          images: images.length, broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
          rawMath: (text.match(/\\$\\$|\\$[^$\\s][^$]*?\\$/) || [null])[0],
          turn: s.querySelector('.your-turn') !== null,
          last: Reveal.isLastSlide() && !Reveal.availableFragments().next};
}"""


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine: the slides' browser test needs Debian's "
                                              "package 'chromium' (sudo apt-get install chromium)")
@pytest.mark.browser
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_static_slides_show_every_slide_at_1024x768(browser, server, path):
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    refused, errors, failures = [], [], []

    def refuse(route):
        if route.request.url.startswith(("data:", "blob:")):
            return route.continue_()
        refused.append(route.request.url)
        return route.abort()

    context.route(re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/]).*"), refuse)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: r.status >= 400 and failures.append(f"{r.status} {r.url}"))
    try:
        page.goto(f"{server}/slides/{path.stem}.html", wait_until="load", timeout=120_000)
        page.wait_for_function("document.documentElement.dataset.slides === 'ready'", timeout=120_000)
        total = page.evaluate("Reveal.getTotalSlides()")
        expected = len([c for c in slides.slides_notebook(nbformat.read(path, as_version=4)).cells
                        if slides.slide_type(c) in ("slide", "subslide")])
        assert total == expected, f"{path.stem}: {total} slides, the notebook makes {expected}"
        assert page.locator("mjx-container").count() > 0 and page.locator("mjx-merror").count() == 0
        seen, shots, steps = set(), set(), 0
        while True:
            now = page.evaluate(CURRENT)
            seen.add(now["where"].split(',"f"')[0])
            where = f"{path.stem} slide {now['where']}"
            assert now["height"] <= now["room"] + 1, \
                f"{where}: {now['height']:.0f} px of content, {now['room']} fit (shrunk to {now['scale']})"
            assert not now["broken"], f"{where}: images not loaded {now['broken']}"
            assert now["rawMath"] is None, f"{where}: maths not typeset: {now['rawMath']}"
            for name, shown in (("first", True), ("your-turn", now["turn"]), ("figure", now["images"] > 0)):
                if shown and name not in shots:         # three slides per notebook for a person to look at
                    shots.add(name)
                    page.screenshot(path=str(ARTIFACTS / f"slides-{path.stem}-{name}.png"))
            if now["last"]:
                break
            steps += 1
            assert steps < 4 * total, f"{path.stem}: the arrow key did not reach the last slide in {steps} presses"
            page.keyboard.press("ArrowRight")
            page.wait_for_function("(w) => JSON.stringify(Reveal.getIndices()) !== w", arg=now["where"],
                                   timeout=30_000)
        assert len(seen) == total, f"{path.stem}: the arrow key showed {len(seen)} of {total} slides"
        assert shots == {"first", "your-turn", "figure"}, shots
        assert errors == [], f"{path.stem}: console errors {errors}"
        assert failures == [], f"{path.stem}: failed requests {failures}"
        assert refused == [], f"{path.stem}: requests to other hosts {refused}"
    finally:
        context.close()
