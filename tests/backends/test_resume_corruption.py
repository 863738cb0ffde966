"""--resume of a damaged run folder: a one-line refusal naming the file, nothing written; fallback and torn rows.

One tiny run (2 RL steps, a checkpoint after each) is built per module; each test damages a copy of it.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from agentgym_seal.atomic import manifest_problem
from agentgym_seal.logging import read_jsonl

pytest.importorskip("torch")
REPO = Path(__file__).resolve().parents[2]
SMALL = [
    "--steps", "2", "--warmup.episodes", "4", "--warmup.epochs", "2", "--eval-episodes", "2", "--batch-tasks", "2",
    "--group-size", "2", "--max-turns", "3", "--eval-every", "2", "--checkpoint-every", "1", "--no-progress",
    "--max-response-length", "12", "--no-monitor", "--tiny-copy-sequences", "0",
]  # fmt: skip
LAST = "checkpoints/step_000002"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("train_seal_script", REPO / "examples" / "train_seal.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = _script()


def tree(folder: Path) -> dict[str, str]:
    """Every file (its SHA-256) and folder under ``folder``."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "folder"
        for p in sorted(folder.rglob("*"))
    }


def comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if not k.startswith("timing/")} for r in rows]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("pristine") / "run"
    assert SCRIPT.main([*SMALL, "--run-dir", str(run)]) == 0
    return run


@pytest.fixture
def run(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "runs" / "run"
    shutil.copytree(pristine, copy)
    return copy


def resume(run: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str]:
    """Runs examples/train_seal.py's main on ``--resume run``; returns the exit code and stderr."""
    capsys.readouterr()
    code = SCRIPT.main([*SMALL, "--resume", str(run), *flags])
    return code, capsys.readouterr().err


def assert_refused(code: int, err: str, *names: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Fix: " in lines[0] and "Traceback" not in err, err
    for name in names:
        assert name in lines[0], (name, err)


def truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def garbage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8] = b"\xff\x00garb\xfe\x01"[: len(data) - middle]
    path.write_bytes(bytes(data))


def writes(value: Any) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        path.write_text(json.dumps(value))

    return damage


def lines(edit: Callable[[list[str]], list[str]]) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        path.write_text("".join(edit(path.read_text().splitlines(keepends=True))))

    return damage


DAMAGE: dict[str, Callable[[Path], None]] = {
    "delete": Path.unlink, "truncate": truncate, "garbage": garbage, "list": writes([1, 2]),
    "bad-field": writes({"seed": "zero", "steps": 2}), "nested-field": writes({"warmup": 3}),
    "step-text": writes({"step": "2", "manifest": True}), "other-step": writes({"step": 1, "manifest": True}),
    "files-not-a-list": writes({"files": 3}),
    "outside-path": writes({"files": [{"path": "../config.json", "size": 1, "sha256": "0"}]}),
    "step-abc": lines(lambda rows: ['{"step": "abc"}\n', *rows[1:]]), "no-row-1": lines(lambda rows: rows[1:]),
    "swapped": lines(lambda rows: rows[::-1]), "torn-row-2": lines(lambda rows: [rows[0], rows[1][:40]]),
}  # fmt: skip
CASES = [
    *[("config.json", d) for d in ("delete", "truncate", "garbage", "list", "bad-field", "nested-field")],
    *[(f"{LAST}/state.json", d) for d in ("delete", "truncate", "garbage", "list", "step-text", "other-step")],
    *[(f"{LAST}/{f}", d) for f in ("learner.pt", "model/model.safetensors") for d in ("delete", "truncate", "garbage")],
    *[(f"{LAST}/model/tokenizer.json", d) for d in ("delete", "truncate", "garbage", "list")],
    *[(f"{LAST}/manifest.json", d) for d in ("delete", "truncate", "garbage", "files-not-a-list", "outside-path")],
    *[("metrics.jsonl", d) for d in ("delete", "truncate", "garbage", "step-abc", "no-row-1", "swapped", "torn-row-2")],
]


@pytest.mark.parametrize(("name", "damage"), CASES, ids=[f"{n}-{d}" for n, d in CASES])
def test_a_damaged_file_is_refused_in_one_line_naming_it(
    run: Path, capsys: pytest.CaptureFixture[str], name: str, damage: str
) -> None:
    DAMAGE[damage](run / name)
    before = tree(run)
    code, err = resume(run, capsys)
    assert_refused(code, err, f"cannot resume {run}: {name}")
    assert tree(run) == before


def test_the_undamaged_copy_resumes(run: Path, pristine: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = resume(run, capsys)  # nothing left to train: the checks pass, final/ is written again
    assert code == 0 and "error" not in err, err
    assert tree(run / "checkpoints") == tree(pristine / "checkpoints")
    assert (run / "metrics.jsonl").read_bytes() == (pristine / "metrics.jsonl").read_bytes()
    assert manifest_problem(run / "final") is None


def test_a_damaged_kl_reference_is_refused(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truncate(run / "checkpoints" / "step_000000" / "learner.pt")
    before = tree(run)
    code, err = resume(run, capsys, "--kl-coef", "0.05")
    assert_refused(code, err, "checkpoints/step_000000/learner.pt", "--kl-coef 0")
    assert tree(run) == before


def test_fallback_continues_from_the_newest_intact_checkpoint(
    run: Path, pristine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage(run / LAST / "model" / "model.safetensors")
    code, err = resume(run, capsys, "--resume-fallback")
    assert code == 0, err
    notes = [line for line in err.splitlines() if line.startswith("resume: ")]
    assert len(notes) == 2 and f"{LAST}/model/model.safetensors" in notes[0], err
    assert "continuing from checkpoints/step_000001" in notes[0] and "1 metrics.jsonl row(s) after step 1" in notes[1]
    assert manifest_problem(run / LAST) is None  # step 2 trained again and saved whole
    assert comparable(read_jsonl(run / "metrics.jsonl")) == comparable(read_jsonl(pristine / "metrics.jsonl"))


def test_fallback_does_not_cover_a_damaged_config(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    garbage(run / "config.json")
    before = tree(run)
    code, err = resume(run, capsys, "--resume-fallback")
    assert_refused(code, err, "config.json")
    assert tree(run) == before


def test_a_torn_row_after_the_last_checkpoint_is_dropped_with_a_note(
    run: Path, pristine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 3, "train/success_')  # a crash while step 3's row was written
    code, err = resume(run, capsys)
    assert code == 0, err
    (note,) = [line for line in err.splitlines() if line.startswith("resume: ")]
    assert "torn last line of metrics.jsonl" in note
    assert (run / "metrics.jsonl").read_bytes() == (pristine / "metrics.jsonl").read_bytes()


def strip_manifests(run: Path) -> None:
    """The layout of checkpoints written before manifests: no manifest.json, state.json ``{"step": k}``."""
    for folder in [*(run / "checkpoints").iterdir(), run / "final"]:
        (folder / "manifest.json").unlink()
        if folder.name != "final":
            (folder / "state.json").write_text(json.dumps({"step": int(folder.name.removeprefix("step_"))}))


def test_a_run_folder_without_manifests_still_resumes(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    strip_manifests(run)
    code, err = resume(run, capsys, "--steps", "3")
    assert code == 0, err
    assert [r["step"] for r in read_jsonl(run / "metrics.jsonl")] == [1, 2, 3]
    assert manifest_problem(run / "checkpoints" / "step_000003") is None
    assert not (run / LAST / "manifest.json").exists()


LEGACY_CASES = [
    ("model/tokenizer.json", "delete"), ("model/tokenizer.json", "list"), ("learner.pt", "truncate"),
    ("learner.pt", "garbage"), ("model/model.safetensors", "truncate"), ("model/config.json", "garbage"),
    ("model/tokenizer_config.json", "delete"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "damage"), LEGACY_CASES, ids=[f"{n}-{d}" for n, d in LEGACY_CASES])
def test_a_damaged_checkpoint_without_manifest_is_refused(
    run: Path, capsys: pytest.CaptureFixture[str], name: str, damage: str
) -> None:
    strip_manifests(run)
    DAMAGE[damage](run / LAST / name)
    before = tree(run)
    code, err = resume(run, capsys)
    assert_refused(code, err, f"{LAST}/{name}")
    assert tree(run) == before


@pytest.mark.parametrize("kind", ["empty", "file", "no-checkpoint"])
def test_a_folder_that_is_no_run_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    target = tmp_path / "target"
    if kind == "file":
        target.write_text("x")
    else:
        target.mkdir()
    if kind == "no-checkpoint":  # a run that stopped during its warm-up
        (target / "config.json").write_text("{}")
    before = tree(tmp_path)
    code, err = resume(target, capsys)
    assert_refused(code, err, {"empty": "is empty", "file": "is a file", "no-checkpoint": "has no checkpoint"}[kind])
    assert tree(tmp_path) == before


def test_a_missing_folder_exits_2_with_one_line_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "runs" / "nope"
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "train_seal.py"), *SMALL, "--resume", str(missing)],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert_refused(done.returncode, done.stderr, f"cannot resume {missing}: the folder does not exist")
    assert list(tmp_path.iterdir()) == []


def test_the_cli_train_command_refuses_in_one_line_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from agentgym_seal.cli import _run_train

    code = _run_train(argparse.Namespace(flags=[*SMALL, "--resume", str(tmp_path / "nope")]))
    assert_refused(code, capsys.readouterr().err, "the folder does not exist")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["missing", "file", "no-config", "bad-config"])
def test_a_bad_model_is_refused_before_any_folder_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    model = tmp_path / "model"
    if kind == "file":
        model.write_text("weights")
    elif kind != "missing":
        model.mkdir()
        if kind == "bad-config":
            (model / "config.json").write_text("{")
    runs = tmp_path / "runs"
    code = SCRIPT.main([*SMALL, "--model", str(model), "--run-dir", str(runs / "run")])
    expected = {"missing": "does not exist", "file": "is a file, not a model folder", "no-config": "no config.json"}
    assert_refused(code, capsys.readouterr().err, expected.get(kind, "is not valid JSON"))
    assert not runs.exists()
