"""The set-up contract: one pinned package list, the README's two commands, CI calling one of them."""

from __future__ import annotations

import re

import yaml

from helpers.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT


def requirement_lines() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_every_requirement_is_pinned():
    for line in requirement_lines():
        assert re.match(r"^[A-Za-z0-9_.\-]+==[0-9][^;\s]*(\s*;.+)?$", line), line


def test_environment_yml_installs_exactly_requirements_txt():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1
    pip = [str(p).strip() for p in pip_sections[0]]
    assert [p for p in pip if p != "-e ."] == requirement_lines()
    assert "-e ." in pip
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in conda and "pip" in conda
    assert len(conda) == 2, "conda packages beyond python and pip would drift from requirements.txt"


def readme_commands() -> list[str]:
    blocks = re.findall(r"```(?:bash|sh|shell|console)?\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_readme_gives_the_two_commands_and_ci_runs_the_test_one():
    commands = readme_commands()
    assert "./course.sh lab" in commands and "./course.sh test" in commands
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./course.sh test" in ci


def test_binder_installs_the_pinned_packages_the_helpers_and_the_data():
    """repo2docker conventions: binder/requirements.txt, runtime.txt and an executable postBuild."""
    binder = ROOT / "binder"
    lines = [line.strip() for line in (binder / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines == ["-r ../requirements.txt"], "Binder must install exactly the course's pinned list"
    env_python = next(d for d in yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
                      if isinstance(d, str) and d.startswith("python="))
    assert (binder / "runtime.txt").read_text().strip() == "python-" + env_python.split("=")[1]
    post_build = binder / "postBuild"
    assert post_build.stat().st_mode & 0o111, "postBuild must be executable"
    steps = [line for line in post_build.read_text().splitlines() if line and not line.startswith("#")]
    assert "python -m pip install --no-deps -e ." in steps and "python -m helpers.data fetch mnist" in steps
