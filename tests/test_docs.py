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


def _type_text(kind: object) -> str:
    """A type as the docs write it: ``bool``, ``list[str]``, ``str | None``, ``dict[str, Any]``."""
    return (
        kind.__name__
        if isinstance(kind, type) and not getattr(kind, "__args__", None)
        else str(kind).replace("typing.", "")
    )


def _info_table(page: Path) -> dict[str, str]:
    """The ``| `key` | `type` | meaning |`` rows under the page's info-keys heading."""
    heading = "## The `info` every env reports" if page.name == "environments.md" else "## `info` keys"
    section = page.read_text(encoding="utf-8").split(heading, 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `(\w+)` \| `([^`]+)` \|", section, re.MULTILINE))


@pytest.mark.parametrize(
    ("page", "typed"),
    [
        ("environments.md", "agentgym_seal.step_info:StepInfo"),
        ("envs/alfworld.md", "agentgym_seal.environments.alfworld.info:ALFWorldInfo"),
        ("envs/webshop.md", "agentgym_seal.environments.webshop.info:WebShopInfo"),
        ("envs/searchqa.md", "agentgym_seal.environments.searchqa.info:SearchQAInfo"),
    ],
)
def test_each_info_table_lists_exactly_the_typed_keys(page: str, typed: str) -> None:
    from typing import get_type_hints

    from agentgym_seal.registry import load_entry_point

    cls = load_entry_point(typed)
    keys = set(cls.__required_keys__) | (set(cls.__optional_keys__) if page == "environments.md" else set())
    expected = {key: _type_text(kind) for key, kind in get_type_hints(cls).items() if key in keys}
    documented = _info_table(ROOT / "docs" / page)
    if page == "environments.md":
        optional = "NotRequired["
        documented = {k: v[len(optional) : -1] if v.startswith(optional) else v for k, v in documented.items()}
    assert documented == expected
