"""The front door: README size, links that resolve, no diary references, and the README example runs."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKDOWN = [README, ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_readme_is_a_front_door_not_a_log() -> None:
    assert len(README.read_text(encoding="utf-8")) <= 12_000


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_a_file_of_the_repository(page: Path) -> None:
    missing = []
    for target in _LINK.findall(page.read_text(encoding="utf-8")):
        path = target.split("#", 1)[0]
        if not path or re.match(r"^[a-z]+:", path):
            continue
        if not (page.parent / path).resolve().exists():
            missing.append(target)
    assert missing == []


def test_nothing_names_past_work_by_session_or_issue_number() -> None:
    found = subprocess.run(
        ["git", "grep", "-nE", r"[Ss]ession [0-9]+|\b[Ii]ssue [0-9]+", "--", ".", ":!tests/test_docs.py"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    assert found == ""


def test_the_readme_example_runs_as_written() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    (example,) = [b for b in blocks if 'gym.make("WebShopText-v0"' in b]
    assert len(example.strip().splitlines()) <= 12
    exec(compile(example, "README.md", "exec"), {"__name__": "readme_example"})
