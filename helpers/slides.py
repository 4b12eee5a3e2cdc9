"""The course notebooks as slides: a notebook's copy for reveal.js, and its lecture plan from its section times.

The slides come from the notebooks themselves: each cell's ``slideshow.slide_type`` (slide, subslide, fragment,
skip, notes; JupyterLab's property inspector sets it, RISE and ``nbconvert --to slides`` read it). Live in RISE a
long cell scrolls; on the static slides (scripts/build_book.py) :func:`slides_notebook` cuts it into slides of a
projector's height instead, at paragraph breaks, and reveals a derivation's displayed equations one at a time.

Nothing here imports TensorFlow; ``nbformat`` notebooks in, notebooks or plain data out.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

import nbformat

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
SLIDE_LINES = 20          # what fits on a slide at 1024x768 (22 px text, 28 px lines), in lines of about 90 characters
LINE_CHARS = 90
CODE_LINES_SHOWN = 6      # longer code is left to the notebook: the slide shows its output
OUTPUT_LINES_SHOWN = 10   # longer printed output is cut to its first lines on a slide
TIMED = re.compile(r"^#{2,3}[ \t]+.*?·[ \t]*(?P<minutes>\d+)[ \t]*min[ \t]*$", re.M)   # a timed heading
MINUTES = re.compile(r"·[ \t]*(\d+)[ \t]*min")
DETAILS = re.compile(r"<details>\s*<summary>(?P<summary>.*?)</summary>(?P<body>.*?)</details>", re.S)


def slide_type(cell) -> str:
    """A cell's slide type; '-' (continue the current slide) when it has none."""
    return cell.metadata.get("slideshow", {}).get("slide_type", "-")


# --- markdown in blocks -------------------------------------------------------------------------------------

def blocks(markdown: str) -> list[str]:
    """Top-level blocks of a markdown text: paragraphs, headings, lists items with what is indented under them,
    code fences, ``$$`` displays and ``<details>`` elements, each kept whole."""
    result, current, fence, maths, details = [], [], False, False, 0
    for line in markdown.strip().splitlines():
        stripped = line.strip()
        opening = not fence and not maths and details == 0
        if opening and not stripped:
            if current:
                result.append("\n".join(current))
                current = []
            continue
        if opening and current and (re.match(r"^(#{1,6} |[*-] |\d+\. )", line) or stripped.startswith("<details")):
            result.append("\n".join(current))       # a heading, a new top-level list item or a fold starts a block
            current = []
        current.append(line)
        if stripped.startswith("```"):
            fence = not fence
        elif not fence:
            maths ^= stripped.count("$$") % 2 == 1
            details += stripped.count("<details") - stripped.count("</details>")
    if current:
        result.append("\n".join(current))
    return result


def height(block: str) -> int:
    """A block's height on a slide, in lines of text: a display formula counts double, a heading one and a half."""
    if block.startswith("#"):
        return 2
    rows = sum(max(1, -(-len(line) // LINE_CHARS)) for line in block.splitlines())
    displays = block.count("$$") // 2
    return rows + displays + (1 if block.lstrip().startswith(("* ", "- ", "1.")) else 0)


def unfold(markdown: str) -> tuple[str, list[str]]:
    """Opens every ``<details>`` fold: a derivation is shown, its summary as a bold line. A fold of answers or hints
    ("What you should see", "Hint") goes to the speaker notes instead. Returns (text, notes)."""
    notes = []

    def replace(match: re.Match) -> str:
        summary = re.sub(r"<[^>]+>", "", match.group("summary")).strip()
        body = match.group("body").strip()
        if re.search(r"what you should see|hint|answer", summary, re.I):
            notes.append(f"**{summary}**\n\n{body}")
            return ""
        return f"\n\n**{summary.split('(click')[0].strip()}**\n\n{body}\n\n"

    return DETAILS.sub(replace, markdown), notes


def pages(markdown: str, budget: int = SLIDE_LINES) -> list[list[str]]:
    """The blocks of a markdown text packed in order into pages of at most ``budget`` lines (a block taller than
    that gets a page of its own); a heading never ends a page."""
    result: list[list[str]] = [[]]
    used = 0
    for block in blocks(markdown):
        h = height(block)
        last = result[-1]
        if last and (used + h > budget and not last[-1].startswith("#")):
            result.append([])
            used = 0
        result[-1].append(block)
        used += h
    if len(result) > 1 and used <= budget // 4 and sum(map(height, result[-2])) + used <= budget + budget // 4:
        tail = result.pop()                 # a short last paragraph joins the page before rather than stand alone
        result[-1] += tail
    return [page for page in result if page]


# --- a notebook's copy for the static slides ----------------------------------------------------------------

def _markdown_cell(source: str, kind: str):
    return nbformat.v4.new_markdown_cell(source, metadata={"slideshow": {"slide_type": kind}})


def split_markdown(cell, section_minutes: int | None = None) -> list:
    """One markdown cell as slide cells: pages of a projector's height, the first of the cell's own type and the
    others subslides; within a page, each displayed equation after the first text a fragment (a derivation step
    by step); folded answers as speaker notes. ``section_minutes``: the time of the section the cell is in."""
    kind = slide_type(cell)
    if kind in ("skip", "notes"):
        text, notes = unfold(cell.source)
        return [_markdown_cell(text.strip() + "".join(f"\n\n{n}" for n in notes), kind)]
    text, notes = unfold(cell.source)
    prefix = your_turn(cell, section_minutes)
    cells = []
    for n, page in enumerate(pages(prefix + text)):
        cells.append(_markdown_cell("", kind if n == 0 else "subslide"))
        for block in page:
            step = block.lstrip().startswith("$$") and cells[-1].source.strip() != ""
            if step:
                cells.append(_markdown_cell(block, "fragment"))
            else:
                cells[-1].source = (cells[-1].source + "\n\n" + block).strip() if cells[-1].source else block
    cells.extend(_markdown_cell(note, "notes") for note in notes)
    return [c for c in cells if c.source.strip()]


def your_turn(cell, section_minutes: int | None = None) -> str:
    """An exercise prompt's banner: 'Your turn · N min', N from the prompt's heading, or else the time of the section
    it belongs to."""
    if "exercise-prompt" not in cell.metadata.get("tags", []):
        return ""
    minutes = MINUTES.search(cell.source.split("\n")[0])
    when = f" · {minutes.group(1)} min" if minutes else \
        f" · within the section's {section_minutes} min" if section_minutes else ""
    return f'<p class="your-turn">Your turn{when}</p>\n\n'


def slide_code(cell):
    """A code cell as a slide shows it: long code hidden (its output stays), long printed output cut, widgets
    as their still pictures."""
    cell = copy.deepcopy(cell)
    if len(cell.source.splitlines()) > CODE_LINES_SHOWN or any(
            "image/png" in o.get("data", {}) for o in cell.outputs):
        cell.metadata.setdefault("tags", []).append("slides-hide-input")
    for output in cell.outputs:
        output.get("data", {}).pop(WIDGET_MIME, None)
        if output.output_type == "stream":
            rows = output.text.rstrip("\n").split("\n")
            if len(rows) > OUTPUT_LINES_SHOWN:
                more = len(rows) - OUTPUT_LINES_SHOWN
                output.text = "\n".join(rows[:OUTPUT_LINES_SHOWN]) + f"\n… ({more} more lines in the notebook)\n"
    cell.outputs = [o for o in cell.outputs if o.output_type == "stream" or o.get("data")]
    return cell


def slides_notebook(nb) -> nbformat.NotebookNode:
    """A copy of a notebook for ``nbconvert --to slides``: skipped cells dropped, markdown cut to fit 1024x768 with
    derivations step by step, code as :func:`slide_code` shows it, no widget state (nothing to fetch from a CDN)."""
    result = copy.deepcopy(nb)
    result.metadata.pop("widgets", None)
    cells, minutes = [], None
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "exercise-prompt" not in cell.metadata.get("tags", []):
            timed = [int(m.group("minutes")) for m in TIMED.finditer(cell.source)]
            minutes = timed[-1] if timed else minutes
        if slide_type(cell) == "skip":
            continue
        if cell.cell_type == "markdown":
            cells.extend(split_markdown(cell, minutes))
        elif cell.cell_type == "code":
            cells.append(slide_code(cell))
    if cells:
        cells[0].metadata["slideshow"] = {"slide_type": "slide"}
    result.cells = cells
    return result


def count_slides(nb) -> int:
    """How many slides (slides and subslides) a notebook's metadata makes, as RISE shows them."""
    return sum(slide_type(c) in ("slide", "subslide") for c in nb.cells)


# --- the lecture plan ---------------------------------------------------------------------------------------

@dataclass
class Section:
    """A timed part of a notebook (a ``##`` or ``###`` heading ending '· N min'): an idea to present, an exercise,
    or a 'Try it'; with the exercises whose prompts fall in it and the widgets (live demos) its cells show."""

    title: str
    minutes: int
    kind: str = "talk"                                       # "talk", "exercise" or "try"
    exercises: list[str] = field(default_factory=list)      # prompt titles, "Exercise 1.2 — the E-step (eq. 8)"
    demos: list[str] = field(default_factory=list)          # widget functions, "em_stepper"


def _title(line: str) -> str:
    """A heading or a bold lead-in as plain text: no '#', no '**', no time, no trailing sentence."""
    line = re.sub(r"^#+\s*", "", line.strip())
    if line.startswith("**"):
        line = line[2:].split("**")[0]
    return MINUTES.sub("", line).strip(" .")


def sections(nb) -> list[Section]:
    """The notebook's timed parts in order (their minutes add up to the time its title cell states)."""
    result: list[Section] = []
    for cell in nb.cells:
        prompt = "exercise-prompt" in cell.metadata.get("tags", [])
        if cell.cell_type == "markdown":
            for match in TIMED.finditer(cell.source):
                title = _title(match.group(0))
                kind = "try" if re.match(r"try it", title, re.I) else "exercise" if prompt or \
                    re.match(r"(exercises?|your turn)\b", title, re.I) else "talk"
                result.append(Section(title, int(match.group("minutes")), kind))
            if prompt and result:
                title = _title(cell.source.strip().split("\n")[0])
                if title not in (s.title for s in result) or result[-1].kind != "exercise":
                    result[-1].exercises.append(title)
        elif result and any(WIDGET_MIME in o.get("data", {}) for o in cell.get("outputs", [])):
            demo = re.search(r"widgets\.(\w+)\(", cell.source)
            result[-1].demos.append(demo.group(1) if demo else "a widget")
    return result


@dataclass
class LecturePlan:
    live: list[Section]          # presented in class, in order
    your_turn: list[Section]     # exercises done in class, if the lecture has time for them
    own_time: list[Section]      # left to the students' own time
    minutes: int                 # the class time the plan uses


def lecture_plan(nb, lecture: int = 50, discussion: int = 5) -> LecturePlan:
    """A lecture of ``lecture`` minutes, ``discussion`` of them kept for questions: the talks in the notebook's
    order while they fit (the first that does not ends the live part); exercises and 'Try it' go to the students'
    own time, except an exercise that still fits after the talks, done in class as a 'your turn'."""
    live, own, used, stopped = [], [], 0, False
    for section in sections(nb):
        if section.kind == "talk" and not stopped and used + section.minutes <= lecture - discussion:
            live.append(section)
            used += section.minutes
        else:
            stopped |= section.kind == "talk"
            own.append(section)
    turns = []
    for section in [s for s in own if s.kind == "exercise"]:
        if used + section.minutes <= lecture - discussion:
            turns.append(section)
            used += section.minutes
    return LecturePlan(live, turns, [s for s in own if s not in turns], used)
