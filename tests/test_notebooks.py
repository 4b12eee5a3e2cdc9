"""Committed notebooks hold a real, clean, full-mode run (see ./course.sh notebooks)."""

from __future__ import annotations

import json
import re

import pytest

from helpers.notebooks import course_notebooks

NOTEBOOKS = course_notebooks()
NOISE = re.compile(r"oneDNN|cuda|TF_ENABLE|absl|WARNING|Warning|I0000")


def test_the_series_is_there_numbered_from_01_without_gaps():
    numbers = [p.name[:2] for p in NOTEBOOKS]
    assert len(numbers) >= 5 and numbers == [f"{i:02d}" for i in range(1, len(numbers) + 1)], numbers


def test_the_notebook_list_takes_a_new_notebook_and_nothing_else(tmp_path):
    """The one list (helpers.notebooks) that scripts, tests and conftest use picks up a future 06 by itself."""
    for name in ("05_latent_space.ipynb", "06_flows.ipynb", "01_em_gmm.ipynb", "scratch.ipynb", "6_typo.ipynb",
                 "07_draft.py", "student/01_em_gmm.ipynb"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("{}")
    assert [p.name for p in course_notebooks(tmp_path)] == ["01_em_gmm.ipynb", "05_latent_space.ipynb",
                                                             "06_flows.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebook_is_a_clean_full_run(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), "re-run: ./course.sh notebooks (fresh kernel, in order)"
    assert set(nb["metadata"]) == {"kernelspec", "language_info", "rise"}, "metadata not normalised (RISE's kept)"
    for cell in code:
        assert "execution" not in cell["metadata"] and "widgets" not in cell["metadata"]
        for out in cell["outputs"]:
            assert out["output_type"] != "error", f"error output in cell {cell['execution_count']}"
            if out.get("name") == "stderr":
                assert not NOISE.search("".join(out["text"])), f"library noise on stderr: {out['text']}"
            text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
            assert "FAST mode" not in text, "committed outputs must come from a full-mode run"
    assert any("FULL mode" in "".join(o.get("text", "")) for c in code for o in c["outputs"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_checked_cells_exist(path):
    """Each notebook has regression cells that nbval compares (NBVAL_CHECK_OUTPUT)."""
    nb = json.loads(path.read_text())
    checked = [c for c in nb["cells"] if c["cell_type"] == "code"
               and "NBVAL_CHECK_OUTPUT" in "".join(c["source"])]
    assert checked and all(c["outputs"] for c in checked)


HEADER_MINUTES = re.compile(r"About (\d+) minutes")
SECTION_MINUTES = re.compile(r"^#+ .*· (\d+) min\s*$", flags=re.MULTILINE)


def _minutes(path) -> tuple[int, list[int]]:
    """A notebook's stated total ("About N minutes") and the times of its sections ("## ... · N min")."""
    cells = json.loads(path.read_text())["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    header = HEADER_MINUTES.search(text)
    assert header, f"{path.name}: no 'About N minutes' in the header"
    return int(header.group(1)), [int(m) for m in SECTION_MINUTES.findall(text)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_a_notebooks_time_is_the_sum_of_its_sections(path):
    total, sections = _minutes(path)
    assert sections and sum(sections) == total, f"{path.name}: header {total} min, sections {sections}"


def test_the_readme_states_the_courses_total_time():
    total = sum(_minutes(path)[0] for path in NOTEBOOKS)
    readme = (NOTEBOOKS[0].parents[1] / "README.md").read_text()
    assert f"about {total} minutes in all" in readme, f"README should say 'about {total} minutes in all'"
