"""The user docs hold together: every relative link of README.md and docs/*.md reaches a file (and
a heading, when it names one), the README's set-up is the two commands CI runs, and no page
points outside the project. Text only: nothing is imported from tailrisk, nothing is run."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def _prose(text: str) -> list[str]:
    """The lines of a Markdown text outside fenced code blocks."""
    lines, inside = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            lines.append(line)
    return lines


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {
        _anchor(line.lstrip("#"))
        for line in _prose(page.read_text(encoding="utf-8"))
        if re.match(r"#{1,6} ", line)
    }


def _links(page: Path) -> list[str]:
    found = []
    for line in _prose(page.read_text(encoding="utf-8")):
        found.extend(LINK.findall(line))
    return found


def test_anchor_rule_matches_github_on_known_headings():
    assert _anchor("Scale-out: devices and processes") == "scale-out-devices-and-processes"
    assert _anchor("Many venues (contagion)") == "many-venues-contagion"
    assert _anchor("The data, and what you may do with them") == (
        "the-data-and-what-you-may-do-with-them"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_relative_links_resolve(page):
    broken = []
    for target in _links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif not dest.is_relative_to(REPO):
            broken.append(f"{target}: outside the project")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert not broken, f"{page.name}: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_machine_paths_or_outside_folders(page):
    text = page.read_text(encoding="utf-8")
    for bad in ("../shared", "/work/", "/root/", "/home/", "/tmp/"):
        assert bad not in text, f"{page.name} mentions {bad!r}"


def _ci_commands() -> tuple[str, str]:
    """The install and test commands of .ci/run, as a user types them (without --quiet)."""
    lines = [ln.strip() for ln in (REPO / ".ci" / "run").read_text().splitlines()]
    install = next(ln for ln in lines if ln.startswith("python -m pip install"))
    tests = next(ln for ln in lines if ln.startswith("python -m pytest"))
    install = shlex.join(w for w in shlex.split(install) if w != "--quiet")
    return install, tests


def test_readme_set_up_is_the_two_commands_ci_runs():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Set-up\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", section, flags=re.M | re.S)
    assert len(blocks) == 2, f"the Set-up section has {len(blocks)} fenced blocks, not 2"
    first, second = (b.strip() for b in blocks)
    assert "\n" not in first and "\n" not in second, "each set-up block is one command"
    assert first.startswith("python -m pip install -e . && ")
    assert first.endswith("tailrisk run --quickstart")
    install, tests = _ci_commands()
    assert shlex.split(second) == shlex.split(f"{install} && {tests}")
