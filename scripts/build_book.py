"""Build the course website offline: Sphinx + myst-nb + sphinx-book-theme, MathJax served from the site itself.

Usage: python scripts/build_book.py [--out DIR]        (default: _build; the site lands in DIR/html)
Run through ``./course.sh book``. Nothing is executed: the pages show the outputs committed in the notebooks.

The committed notebooks (``notebooks/[0-9][0-9]_*.ipynb``, so a new notebook appears by itself) are never
changed. They are copied into DIR/source and turned into book pages on the way:

* a solution cell (tag ``exercise-solution``) gets myst-nb's ``hide-input`` tag: folded behind a toggle
  labelled "Show the solution";
* otter-grader's ``# BEGIN SOLUTION`` / ``# END SOLUTION`` lines and nbval's ``# NBVAL_...`` comments are removed;
* a widget output with no static picture (the progress bar) gets a sentence instead of its raw repr;
  the widgets that have one (``widgets.display_with_fallback``) show their PNG, see book/conf.py.

The pages in ``REFERENCE_PAGES`` (book/course-text.md: the course text and its equations) follow the notebooks in
the sidebar. The landing page is book/index.md with its two placeholders filled from the notebooks themselves: each
notebook's title, time and learning objectives come from its first markdown cell, and the student notebooks
(``notebooks/student/``) become downloads. book/conf.py holds the Sphinx settings and the launch buttons' one
setting, the public repository URL.

Each notebook also becomes reveal.js slides, ``slides/NN_name.html`` in the site, linked from its page: its cells'
slide metadata, cut to a projector's size by :func:`helpers.slides.slides_notebook`, exported with nbconvert and
book/slides/template/; reveal.js and require.js come from book/slides/node_modules (the npm packages pinned in
book/slides/package-lock.json, installed by ``./course.sh setup``), MathJax from the site's own copy. The instructor's
guide (``instructors.html``) is generated from the notebooks' section times, the exercise catalogue and
book/discussion.md.
"""

from __future__ import annotations

import argparse
import copy
import re
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from helpers import slides
from helpers.notebooks import course_notebooks
from helpers.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT
BOOK = ROOT / "book"
SOLUTION_TAG, HIDE_TAG = "exercise-solution", "hide-input"
REFERENCE_PAGES = ["course-text"]     # book/<name>.md, listed after the notebooks: the course text's equations
# whole-line markers for the tools, not for readers: otter-grader's and nbval's
MARKER_LINE = re.compile(r"^[ \t]*#[ \t]*(?:(?:BEGIN|END)[ \t]+(?:SOLUTION|QUESTION|TESTS|PROMPT)\b|NBVAL_\w+)"
                         r"[^\n]*\n?", re.M)
SOLUTION_COMMENT = re.compile(r"[ \t]*#[ \t]*SOLUTION(?:[ \t]+NO[ \t]+PROMPT)?[ \t]*$", re.M)   # otter's inline form
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_REPR = re.compile(r"^(?P<name>[A-Z]\w*)\((?P<args>.*)\)$", re.S)
SLIDES = BOOK / "slides"
NODE_MODULES = SLIDES / "node_modules"
REVEAL = NODE_MODULES / "reveal.js"
SLIDE_SIZE = (1024, 768)      # a projector's size; reveal.js scales the slides to the window from it


@dataclass
class NotebookSummary:
    """What the landing page says about one notebook, read from its first markdown cell."""

    page: str                      # e.g. "notebooks/01_em_gmm", the page's name in the site
    title: str                     # its level-1 heading
    time: str = ""                 # "About 60 minutes." as the notebook says it
    minutes: int = 0
    objectives: list[str] = field(default_factory=list)


def summarize(nb: nbformat.NotebookNode, page: str) -> NotebookSummary:
    """Title, time and learning objectives from the notebook's opening markdown (up to its first code cell)."""
    opening = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            break
        if cell.cell_type == "markdown":
            opening.append(cell.source)
    text = "\n\n".join(opening)
    title = re.search(r"^#[ \t]+(.+?)[ \t]*$", text, re.M)
    summary = NotebookSummary(page=page, title=title.group(1) if title else Path(page).name)
    time_match = re.search(r"About (\d+) minutes[^.*\n]*", text)
    if time_match:
        summary.time, summary.minutes = time_match.group(0), int(time_match.group(1))
    objectives = re.search(r"\*\*Learning objectives\.?\*\*[^\n]*\n+(?P<list>(?:[ \t]*(?:[*-]|\d+\.)[ \t].*\n?"
                           r"(?:[ \t]+\S.*\n?)*)+)", text)
    if objectives:
        items = re.split(r"^[ \t]*(?:[*-]|\d+\.)[ \t]+", objectives.group("list"), flags=re.M)
        summary.objectives = [" ".join(item.split()) for item in items if item.strip()]
    return summary


def widget_sentence(text: str) -> str:
    """A reader's sentence for a widget that has no static picture, instead of its repr."""
    match = WIDGET_REPR.match(text.strip())
    name, args = (match.group("name"), match.group("args")) if match else ("widget", "")
    description = re.search(r"description='([^']*)'", args)
    total = re.search(r"\bmax=(\d+)", args)
    if name.endswith("Progress"):
        what = f"a progress bar{f' ({description.group(1)})' if description else ''}"
        return f"[{what}: it counts to {total.group(1) if total else 'the end'} while the cell runs in Jupyter]"
    return f"[an interactive {name} widget: it shows when the notebook runs in Jupyter]"


def book_page(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of a course notebook as the website shows it (see the module docstring)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.source = SOLUTION_COMMENT.sub("", MARKER_LINE.sub("", cell.source)).rstrip("\n")
        tags = cell.metadata.setdefault("tags", [])
        if SOLUTION_TAG in tags:
            if HIDE_TAG not in tags:
                tags.append(HIDE_TAG)
            cell.metadata.setdefault("mystnb", {}).update(code_prompt_show="Show the solution",
                                                          code_prompt_hide="Hide the solution")
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_MIME in data and set(data) <= {WIDGET_MIME, "text/plain"}:
                output["data"] = {"text/plain": widget_sentence(data.get("text/plain", ""))}
            elif WIDGET_MIME in data and "image/png" in data and "text/plain" in data:
                # a widget's still picture (helpers.widgets.display_with_fallback): its sentence is the alt text
                cell.metadata.setdefault("mystnb", {})["image"] = {"alt": data["text/plain"].strip()}
    return nb


def markdown_list(summaries: list[NotebookSummary]) -> str:
    """The landing page's list of notebooks: a heading with a link and the time, then the objectives."""
    parts = []
    for s in summaries:
        parts.append(f"### {s.title}\n")
        parts.append(f"{s.time + '. ' if s.time else ''}[Read the notebook]({s.page}.ipynb)\n")
        if s.objectives:
            parts.append("You will be able to\n\n" + "".join(f"* {item}\n" for item in s.objectives))
    total = sum(s.minutes for s in summaries)
    if total:
        hours, minutes = divmod(total, 60)
        parts.append(f"About {hours} h {minutes:02d} min of class time in all.\n")
    return "\n".join(parts)


def student_downloads(names: list[str]) -> str:
    items = "".join(f"* {{download}}`{name} <downloads/student/{name}>`\n" for name in names)
    return (f"{items}* {{download}}`all of them with their checks (student-notebooks.zip) "
            f"<downloads/student-notebooks.zip>`\n")


def stage(source: Path, root: Path = ROOT) -> list[NotebookSummary]:
    """Fill ``source`` with the pages (transformed notebooks, landing page) and the downloads."""
    if source.exists():
        shutil.rmtree(source)
    (source / "notebooks").mkdir(parents=True)
    summaries = []
    for path in course_notebooks(root / "notebooks"):
        nb = nbformat.read(path, as_version=4)
        page = f"notebooks/{path.stem}"
        summaries.append(summarize(nb, page))
        book = book_page(nb)
        book.cells.insert(1, nbformat.v4.new_markdown_cell(slides_link(path.stem, slides.count_slides(nb))))
        nbformat.write(book, source / f"{page}.ipynb")

    student = root / "notebooks" / "student"
    students = course_notebooks(student)
    downloads = source / "downloads" / "student"
    downloads.mkdir(parents=True)
    with zipfile.ZipFile(source / "downloads" / "student-notebooks.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for path in students + sorted((student / "tests").glob("*.py")):
            archive.write(path, Path("student") / path.relative_to(student))
    for path in students:
        shutil.copy2(path, downloads / path.name)

    index = (BOOK / "index.md").read_text()
    index = index.replace("{{ notebooks }}", markdown_list(summaries))
    index = index.replace("{{ student_downloads }}", student_downloads([p.name for p in students]))
    toctree = "\n".join(s.page for s in summaries)
    index += f"\n```{{toctree}}\n:hidden:\n:caption: Notebooks\n\n{toctree}\n```\n"
    index += "\n```{toctree}\n:hidden:\n:caption: Reference\n\n" + "\n".join(REFERENCE_PAGES) + "\n```\n"
    index += "\n```{toctree}\n:hidden:\n:caption: Teaching\n\ninstructors\n```\n"
    (source / "index.md").write_text(index)
    (source / "instructors.md").write_text(instructors_guide(course_notebooks(root / "notebooks"), root))
    for page in REFERENCE_PAGES:
        shutil.copy2(BOOK / f"{page}.md", source / f"{page}.md")
    return summaries


# --- slides -------------------------------------------------------------------------------------------------

def slides_link(stem: str, count: int) -> str:
    """The line under a notebook page's title that opens its slides (raw HTML: the slides are not a Sphinx page)."""
    return (f'<p class="slides-link"><a href="../slides/{stem}.html">Slides of this notebook</a> ({count} slides, '
            "for class: arrow keys to move, S for the speaker notes; live: "
            f"<code>./course.sh present {stem[:2]}</code>)</p>")


class SlidesAssetsMissing(RuntimeError):
    """reveal.js or require.js is not installed in book/slides/node_modules."""


def slides_exporter():
    """nbconvert's slides exporter, set up to load nothing but the site's own files."""
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    config = Config()
    config.SlidesExporter.update(
        extra_template_basedirs=[str(SLIDES / "template")], template_name="course",
        reveal_url_prefix="reveal.js", reveal_theme="white", reveal_transition="none",
        reveal_width=str(SLIDE_SIZE[0]), reveal_height=str(SLIDE_SIZE[1]),
        require_js_url="require.js", jquery_url="", mathjax_url="../_static/mathjax/tex-chtml-full.js",
        exclude_input_prompt=True, exclude_output_prompt=True)
    config.TagRemovePreprocessor.update(enabled=True, remove_input_tags={"slides-hide-input"})
    return SlidesExporter(config=config)


def build_slides(html: Path, root: Path = ROOT) -> list[Path]:
    """Every course notebook as reveal.js slides in html/slides/, with reveal.js and require.js beside them."""
    missing = [p for p in (REVEAL / "dist" / "reveal.js", REVEAL / "plugin" / "notes" / "notes.js",
                           NODE_MODULES / "requirejs" / "require.js") if not p.is_file()]
    if missing:
        raise SlidesAssetsMissing(
            f"book: the slides need reveal.js and require.js in {NODE_MODULES} ({missing[0].name} is missing). "
            "Run ./course.sh setup: it installs the npm "
            "packages pinned in book/slides/package-lock.json (it needs npm: sudo apt-get install npm).")
    out = html / "slides"
    for part in ("dist", "plugin/notes"):
        shutil.copytree(REVEAL / part, out / "reveal.js" / part, dirs_exist_ok=True)
    for name in (NODE_MODULES / "requirejs" / "require.js", SLIDES / "course-slides.css", SLIDES / "course-slides.js"):
        shutil.copy2(name, out / name.name)
    exporter, written = slides_exporter(), []
    for path in course_notebooks(root / "notebooks"):
        nb = slides.slides_notebook(book_page(nbformat.read(path, as_version=4)))
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": summarize(nb, path.stem).title}})
        written.append(out / f"{path.stem}.html")
        written[-1].write_text(body)
    return written


# --- the instructor's guide ---------------------------------------------------------------------------------

def discussion(text: str) -> dict[str, str]:
    """book/discussion.md's questions, by notebook number ("01")."""
    parts = re.split(r"^## (\d\d)[ \t]*$", re.sub(r"<!--.*?-->", "", text, flags=re.S), flags=re.M)
    return {number: body.strip() for number, body in zip(parts[1::2], parts[2::2], strict=True)}


def slips(number: int, per_exercise: int = 3) -> str:
    """The most likely slips of notebook ``number``'s exercises, from the exercise catalogue: each exercise's first
    mistakes, by the name the checks give them, with the hint a student gets."""
    from helpers.exercises import EXERCISES

    lines = []
    for name, exercise in EXERCISES.items():
        if not re.match(rf"Exercise {number}\.\d", exercise.title):
            continue
        lines.append(f"* **{exercise.title}**, `{name}`:")
        lines += [f"  * *{mistake.name}*: {mistake.hint}" for mistake in exercise.mistakes[:per_exercise]]
    return "\n".join(lines) if lines else "No exercise in this notebook."


def readme_sections(root: Path) -> set[str]:
    readme = root / "README.md"
    return set(re.findall(r"^#+[ \t]+(.+?)[ \t]*$", readme.read_text(), re.M)) if readme.exists() else set()


def lecture_table(nb) -> str:
    plan = slides.lecture_plan(nb)
    rows = [f"* **{s.minutes} min**: {s.title}" for s in plan.live]      # a list, not a table: it wraps on a phone
    rows += [f"* **{s.minutes} min**: your turn, {s.title}" for s in plan.your_turn]
    rows.append("* **5 min**: questions and discussion (below)")
    own = "".join(f"* {s.title} ({s.minutes} min)"
                  + (f"; its exercises: {'; '.join(s.exercises)}" if s.exercises and s.kind == "talk" else "") + "\n"
                  for s in plan.own_time)
    inside = [e for s in plan.live for e in s.exercises]
    homework = f"* and the exercises inside the sections presented: {'; '.join(inside)}\n" if inside else ""
    total = f"{plan.minutes + 5} minutes in all. For the students' own time:"
    return "In class:\n\n" + "\n".join(rows) + f"\n\n{total}\n\n" + own + homework


def demos(nb, stem: str) -> str:
    found = [(s.title, d) for s in slides.sections(nb) for d in s.demos]
    found += [(s.title, "the cell runs in class") for s in slides.sections(nb)
              if not s.demos and re.search(r"\blive\b", s.title, re.I)]          # "6. Training live"
    if not found:
        return "None: the slides' figures are the demo."
    return "\n".join(f"* {title}: `{demo}` (`./course.sh present {stem[:2]}`, Run All, then on its slide; the "
                     "notebook beside the slides runs it too)" for title, demo in found)


def instructors_guide(paths: list[Path], root: Path = ROOT) -> str:
    """The instructor's guide page: for each notebook a 50-minute plan, demos, discussion questions and slips."""
    questions = discussion((BOOK / "discussion.md").read_text())
    readme = readme_sections(root)
    pointers = [f"*{name}* ({what})" for name, what in (("Grading a class", "collecting and grading the "
                "student notebooks"), ("Teaching a class on a hub", "hosting the course for a class"))
                if name in readme]
    parts = ["# Instructor's guide\n",
             "Each notebook is a lecture and a lab. The plans below present a notebook's ideas in a 50-minute "
             "lecture, in the notebook's order and with the times its sections state, and leave the exercises and "
             "the 'Try it' section to the students' own time. Present with the live slides "
             "(`./course.sh present NN`: JupyterLab with the notebook and its RISE slideshow side by side, on one "
             "kernel; Run All in the notebook first, since a slideshow never runs the cells it skips) "
             "or with the static slides linked below (any browser, no Python; S opens the speaker notes). "
             "`./course.sh present explorer` opens notebook 05's latent explorer alone, without code (Voila): use "
             "it when the class explores the latent space rather than reads the notebook.\n"]
    if pointers:
        parts.append("The course's README explains " + " and ".join(pointers) + ".\n")
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        summary = summarize(nb, path.stem)
        number = path.stem[:2]
        parts += [f"## {summary.title}\n",
                  f'<p><a href="slides/{path.stem}.html">Slides</a> ({slides.count_slides(nb)} slides) · '
                  f'<a href="notebooks/{path.stem}.html">the notebook</a> · {summary.time or "time not stated"}'
                  f" · live: <code>./course.sh present {number}</code></p>\n",
                  "### A 50-minute lecture\n", lecture_table(nb),
                  "### Live demos\n", demos(nb, path.stem) + "\n",
                  "### Discussion questions\n", questions.get(number, "None written yet (book/discussion.md).") + "\n",
                  "### The most likely slips\n",
                  "From the exercise catalogue (`helpers.exercises`), which the checks use to name them:\n",
                  slips(int(number)) + "\n"]
    return "\n".join(parts)


def build(out: Path, extra_args: list[str] | None = None, quiet: bool = False) -> Path:
    """Stage the sources into out/source and build the site into out/html. Returns the html folder."""
    out = out.resolve()
    source, html = out / "source", out / "html"
    for stale in (html, out / "doctrees"):     # a fresh build each time: no page of a renamed notebook lingers
        if stale.exists():
            shutil.rmtree(stale)
    stage(source)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-c", str(BOOK), "-d", str(out / "doctrees"),
           "-W", "--keep-going", "-j", "1", str(source), str(html), *(extra_args or [])]
    if quiet:
        cmd.append("-q")
    subprocess.run(cmd, check=True)
    build_slides(html)
    return html


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build", help="build folder (default: _build)")
    parser.add_argument("sphinx_args", nargs="*", help="more options for sphinx-build, after --, e.g. "
                                                       "-- -D course_repository_url=https://github.com/OWNER/REPO")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        html = build(args.out, args.sphinx_args, quiet=True)
    except subprocess.CalledProcessError as error:
        print(f"book: sphinx-build failed (exit {error.returncode}); its messages are above", file=sys.stderr)
        return 1
    except SlidesAssetsMissing as error:
        print(error, file=sys.stderr)
        return 1
    pages = sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                   if not p.relative_to(html).parts[0].startswith(("_", "slides")))
    print(f"book: built {len(pages)} pages in {time.perf_counter() - start:.1f} s, "
          f"{folder_size(html) / 1e6:.1f} MB: {html}/index.html")
    print("book: " + ", ".join(pages))
    decks = sorted(p.relative_to(html).as_posix() for p in (html / "slides").glob("*.html"))
    print("book: slides: " + ", ".join(decks))
    print(f"book: to look at it, python -m http.server --bind 127.0.0.1 --directory {html} 8000")
    return 0


if __name__ == "__main__":
    sys.exit(main())
