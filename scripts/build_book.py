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

from helpers.notebooks import course_notebooks

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
SOLUTION_TAG, HIDE_TAG = "exercise-solution", "hide-input"
REFERENCE_PAGES = ["course-text"]     # book/<name>.md, listed after the notebooks: the course text's equations
# whole-line markers for the tools, not for readers: otter-grader's and nbval's
MARKER_LINE = re.compile(r"^[ \t]*#[ \t]*(?:(?:BEGIN|END)[ \t]+(?:SOLUTION|QUESTION|TESTS|PROMPT)\b|NBVAL_\w+)"
                         r"[^\n]*\n?", re.M)
SOLUTION_COMMENT = re.compile(r"[ \t]*#[ \t]*SOLUTION(?:[ \t]+NO[ \t]+PROMPT)?[ \t]*$", re.M)   # otter's inline form
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_REPR = re.compile(r"^(?P<name>[A-Z]\w*)\((?P<args>.*)\)$", re.S)


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
        nbformat.write(book_page(nb), source / f"{page}.ipynb")

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
    (source / "index.md").write_text(index)
    for page in REFERENCE_PAGES:
        shutil.copy2(BOOK / f"{page}.md", source / f"{page}.md")
    return summaries


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
    pages = sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                   if not p.relative_to(html).parts[0].startswith("_"))
    print(f"book: built {len(pages)} pages in {time.perf_counter() - start:.1f} s, "
          f"{folder_size(html) / 1e6:.1f} MB: {html}/index.html")
    print("book: " + ", ".join(pages))
    print(f"book: to look at it, python -m http.server --bind 127.0.0.1 --directory {html} 8000")
    return 0


if __name__ == "__main__":
    sys.exit(main())
