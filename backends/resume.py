"""What a resume may read and change: the run folder is verified whole, state-shaping settings must stay.

A resume (``--resume RUN_DIR``) reads the model, tokenizer, optimizer and RNG states from the run's last
checkpoint. :func:`check_run_folder` verifies the whole folder before anything is written (config.json, the JSONL
rows, the checkpoint's manifest, that the metrics cover the checkpoint) and picks the checkpoint to resume from;
:func:`check_resumable` refuses a config that would describe another saved state (model shape, SEAL on/off, for
the tiny model the demonstrations its tokenizer and warm-up came from), and :func:`resume_changes` names every
other setting that differs from the saved ``config.json``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentgym_seal.errors import ConfigError, ResumeError
from agentgym_seal.logging.jsonl import read_rows

from .checkpoints import checkpoint_dir, checkpoint_problem, list_checkpoints
from .config import TrainConfig

#: Flags that shape the saved state (model, SEAL head, optimizer groups): a resume must keep them.
_STATE_SHAPING_FLAGS = (
    "model", "tiny_hidden_size", "tiny_layers", "tiny_copy_sequences", "seal_layers", "env", "lora_rank",
)  # fmt: skip


#: Config fields (dotted: nested dataclasses) that select the warm-up demonstrations, besides ``env``: the key of
#: their cache, and so what the tiny model's tokenizer (trained on them) and warm-up depend on.
DEMO_FLAGS = (
    "seed", "history_length", "task_types", "difficulty", "env_options",
    "warmup.episodes", "warmup.expert", "warmup.noise", "warmup.invalid_noise", "warmup.epsilon",
    "warmup.games_per_type",
)  # fmt: skip
MISSING = object()  # a field a saved config.json predates
#: What a run saved before a demo flag existed used instead (a resume must not pick up the new default silently).
_DEMO_FLAG_BEFORE = {"warmup.invalid_noise": 0.0, "warmup.epsilon": 0.0}


def check_resumable(saved: dict[str, Any], cfg: TrainConfig) -> None:
    """Raises :class:`ConfigError` when ``cfg`` cannot continue a run saved with the config ``saved``."""
    changed = [f for f in _STATE_SHAPING_FLAGS if f in saved and saved[f] != getattr(cfg, f)]
    if cfg.model == "tiny":  # its tokenizer and warm-up came from the saved run's demonstrations: keep naming them
        now = dataclasses.asdict(cfg)
        changed += [
            f for f in DEMO_FLAGS if (was := _saved_value(saved, f)) is not MISSING and was != flag_value(now, f)
        ]
    if "seal_alpha" in saved and (float(saved["seal_alpha"]) > 0) != (cfg.seal_alpha > 0):
        changed.append("seal_alpha")  # SEAL on/off changes the optimizer's parameter groups
    if changed:
        was = ", ".join(f"--{f.replace('_', '-')} {_saved_value(saved, f)!r}" for f in changed)
        raise ConfigError(
            f"cannot resume {cfg.resume}: it was trained with {was}, which this run changes. "
            "Fix: resume with the same values, or start a new --run-dir."
        )


#: Fields a resume is expected to change (where the run lives, how it resumes), left out of :func:`resume_changes`.
_RUN_LOCATION = frozenset({"resume", "run_dir", "resume_fallback"})


def resume_changes(saved: dict[str, Any], cfg: TrainConfig) -> list[str]:
    """One line per setting that the resumed run (``cfg``, resolved) sets differently from the saved config.json.

    :func:`check_resumable` has refused the changes the saved state cannot take; what is left (RL settings) is
    allowed, but a flag left out takes today's default, which may not be the run's: these lines say so. A
    setting the saved config predates is skipped.
    """
    now = _flat(json.loads(json.dumps(dataclasses.asdict(cfg))))  # the form config.json stores (lists, not tuples)
    notes = []
    for flag, was in _flat(saved).items():
        if flag not in _RUN_LOCATION and flag in now and was != now[flag]:
            name = "--" + flag.replace("_", "-")
            notes.append(f"{name} was {was!r} in the saved run, now {now[flag]!r} (pass {name} {was!r} to keep it)")
    return notes


def _flat(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A config dict's leaves by dotted flag name (``shaping.beta``)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _saved_value(saved: dict[str, Any], flag: str) -> Any:
    """``flag``'s value in a saved config, or (a demo flag newer than the run) what the run's code used."""
    value = flag_value(saved, flag)
    return _DEMO_FLAG_BEFORE.get(flag, MISSING) if value is MISSING else value


def flag_value(config: dict[str, Any], flag: str) -> Any:
    """The value of a (dotted) ``flag`` in a config dict (:data:`MISSING` when the config has no such field).

    Tuples come back as lists, so a config read back from JSON compares equal to the dataclass it was written from.
    """
    group, _, name = flag.rpartition(".")
    value = (config.get(group, {}) if group else config).get(name, MISSING)
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class ResumePoint:
    """Where a verified run folder resumes: the checkpoint, its step, the saved config and lines for the user."""

    checkpoint: Path
    step: int
    saved: dict[str, Any]
    notes: tuple[str, ...] = ()


def check_run_folder(cfg: TrainConfig) -> ResumePoint:
    """Verifies the run folder ``cfg.resume`` whole, reading only, and returns where it resumes.

    Checked: config.json (a JSON object whose known fields have this TrainConfig's types; :func:`check_resumable`),
    metrics.jsonl and monitor/*.jsonl (rows with int steps), the newest checkpoint (its manifest, or the files
    the loader reads), that metrics.jsonl has a row for every step it covers, and checkpoint 0 when
    ``--kl-coef > 0``. Raises :class:`ResumeError` (a changed flag: :class:`ConfigError`) with one line naming the
    bad file; with ``--resume-fallback`` a bad checkpoint gives way to the newest earlier one that passes.
    """
    run = Path(str(cfg.resume))
    _check_folder(run)
    saved = _saved_config(run)
    if not (found := list_checkpoints(run)):
        fix = f"start the run again with --run-dir {run}"
        raise _refusal(run, "it has no checkpoint (checkpoints/step_000000 is written after the warm-up)", fix)
    check_resumable(saved, cfg)
    rows, torn = _metrics_rows(run)
    step, folder, skipped = _resume_checkpoint(run, cfg, found, (rows, torn))
    if cfg.kl_coef > 0 and step > 0:
        _check_reference(run, cfg)
    name = folder.relative_to(run).as_posix()
    notes = []
    if skipped:
        more = f" (skipping {len(skipped)} damaged checkpoints)" if len(skipped) > 1 else ""
        notes.append(f"{skipped[0]}; --resume-fallback: continuing from {name}{more}")
    later = [row["step"] for row in rows or [] if row["step"] > step]
    if later or torn:
        dropped = [f"{len(later)} metrics.jsonl row(s) after step {step}"] if later else []
        dropped += ["the torn last line of metrics.jsonl (a crash while writing it)"] if torn else []
        notes.append(f"dropping {' and '.join(dropped)}: training continues from {name}, redoing the steps after it")
    return ResumePoint(folder, step, saved, tuple(notes))


def _check_folder(run: Path) -> None:
    """Refuses a resume of a path that is no folder, or an empty one."""
    if not run.exists():
        fix = f"pass the folder of an earlier run, or start a new run with --run-dir {run}"
        raise _refusal(run, "the folder does not exist", fix)
    if not run.is_dir():
        raise _refusal(run, "it is a file, not a run folder", "pass the folder an earlier run was given as --run-dir")
    if not any(run.iterdir()):
        raise _refusal(run, "the folder is empty: there is nothing to resume", f"start a new run with --run-dir {run}")


def _refusal(run: Path, what: str, fix: str) -> ResumeError:
    """The one-line error of a run folder that cannot be resumed."""
    return ResumeError(f"cannot resume {run}: {what}. Fix: {fix}.")


def _saved_config(run: Path) -> dict[str, Any]:
    """config.json of a run folder, checked to be a JSON object that this TrainConfig's fields can take."""
    path, fix = run / "config.json", "restore config.json from a backup, or start a new --run-dir"
    if not path.is_file():
        raise _refusal(run, "config.json is missing (a run folder of examples/train_seal.py has one)", fix)
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise _refusal(run, f"config.json is not valid JSON ({exc})", fix) from None
    if not isinstance(saved, dict):
        raise _refusal(run, f"config.json holds a {type(saved).__name__}, expected a JSON object", fix)
    if (problem := _config_problem(saved, TrainConfig)) is not None:
        raise _refusal(run, f"config.json {problem}", fix)
    return saved


def _config_problem(saved: dict[str, Any], cls: type, prefix: str = "") -> str | None:
    """The first field of a saved config whose value ``cls`` cannot take (fields it does not have are skipped)."""
    hints = _field_types(cls)
    for key, value in saved.items():
        if key not in hints:
            continue
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            problem = None if isinstance(value, dict) else f"has {prefix}{key} = {value!r}, expected a JSON object"
            problem = problem or _config_problem(value, typing.cast(type, hint), f"{prefix}{key}.")
        else:
            problem = None if _fits(value, hint) else f"has {prefix}{key} = {value!r}, expected {_type_name(hint)}"
        if problem is not None:
            return problem
    return None


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    """The resolved field types of a config dataclass."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _fits(value: Any, hint: Any) -> bool:
    """Whether a JSON value is one ``hint`` (a config field's type) takes; a type this does not know passes."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if origin is tuple:
        return isinstance(value, list) and all(_fits(v, args[0]) for v in value)
    if hint in (int, float):  # JSON has no bools among numbers; an int is a float
        return type(value) is int or (hint is float and type(value) is float)
    if hint is type(None):
        return value is None
    return isinstance(value, hint) if isinstance(hint, type) else True


def _type_name(hint: Any) -> str:
    """A type as a person reads it (``int | None``, ``one of ['grpo', 'gigpo']``)."""
    if typing.get_origin(hint) is typing.Literal:
        return f"one of {list(typing.get_args(hint))}"
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _metrics_rows(run: Path) -> tuple[list[dict[str, Any]] | None, bool]:
    """metrics.jsonl's rows (None when there is no file) and whether its last line is torn; monitor files checked."""
    for path in sorted((run / "monitor").glob("*.jsonl")):
        _jsonl_rows(run, path, "restore it, or delete it (the report then lacks those steps)")
    path = run / "metrics.jsonl"
    if not path.is_file():
        return None, False
    return _jsonl_rows(run, path, "restore metrics.jsonl from a backup, or start a new --run-dir")


def _jsonl_rows(run: Path, path: Path, fix: str) -> tuple[list[dict[str, Any]], bool]:
    """The rows of a run folder's JSONL file (:func:`read_rows`, int steps), or a refusal naming the bad line."""
    try:
        return read_rows(path, int_key="step")
    except (ValueError, OSError) as exc:
        raise _refusal(run, f"{path.relative_to(run).as_posix()} {exc}", fix) from None


def _resume_checkpoint(
    run: Path, cfg: TrainConfig, found: list[tuple[int, Path]], metrics: tuple[list[dict[str, Any]] | None, bool]
) -> tuple[int, Path, list[str]]:
    """Of ``found``, the newest checkpoint that verifies and that the metrics cover.

    Also returns, with --resume-fallback, the problems of the newer checkpoints it skipped.
    """
    skipped: list[str] = []
    for step, folder in reversed(found):
        name = folder.relative_to(run).as_posix()
        problem = checkpoint_problem(folder, step, lora=cfg.lora_rank > 0)
        fix = "restore the file from a backup"
        if problem is not None:
            problem = f"{name}/{problem}"
        elif (problem := _coverage_problem(*metrics, step, name)) is not None:
            fix = "restore metrics.jsonl from a backup"
        if problem is None:
            return step, folder, skipped
        if not cfg.resume_fallback:
            raise _refusal(run, problem, f"{fix}, or pass --resume-fallback to continue from an earlier checkpoint")
        skipped.append(problem)
    raise _refusal(run, f"no checkpoint is intact ({skipped[-1]})", "restore it, or start a new --run-dir")


def _coverage_problem(rows: list[dict[str, Any]] | None, torn: bool, step: int, name: str) -> str | None:
    """What is wrong with metrics.jsonl's rows of steps 1..``step`` (the steps checkpoint ``name`` covers), or None."""
    if step == 0:
        return None
    if rows is None:
        return f"metrics.jsonl is missing, but {name} covers steps 1-{step}"
    covered = [row["step"] for row in rows if row["step"] <= step]
    if covered == list(range(1, step + 1)):
        return None
    missing = sorted(set(range(1, step + 1)) - set(covered))
    if missing:
        shown = ", ".join(map(str, missing[:5])) + (", ..." if len(missing) > 5 else "")
        torn_note = " (its last line is torn)" if torn else ""
        return f"metrics.jsonl has no row for step {shown}{torn_note}, which {name} covers (a resume would not redo it)"
    return f"metrics.jsonl repeats or reorders the rows of steps 1-{step}, which {name} covers"


def _check_reference(run: Path, cfg: TrainConfig) -> None:
    """Under --kl-coef > 0, checkpoint 0 (the KL reference, the warmed-up policy) must be there and intact."""
    folder = checkpoint_dir(run, 0)
    fix = "restore it, resume with --kl-coef 0, or start a new --run-dir"
    if not folder.is_dir():
        raise ResumeError(
            f"cannot resume {run} with --kl-coef > 0: the KL reference is the warmed-up policy of checkpoint 0, "
            f"and {folder} is missing. Fix: {fix}."
        )
    if (problem := checkpoint_problem(folder, 0, lora=cfg.lora_rank > 0)) is not None:
        raise _refusal(
            run, f"{folder.relative_to(run).as_posix()}/{problem}; it holds the KL reference of --kl-coef > 0", fix
        )
