"""What a resumed run may change: the settings the saved state was built from are refused, the rest noted.

A resume (``--resume RUN_DIR``) reads the model, tokenizer, optimizer and RNG states from the run's last
checkpoint; :func:`check_resumable` refuses a config that would describe another saved state (model shape, SEAL
on/off, for the tiny model the demonstrations its tokenizer and warm-up came from), and :func:`resume_changes`
names every other setting that differs from the saved ``config.json``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from agentgym_seal.errors import ConfigError

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


#: Fields a resume is expected to change (where the run lives), left out of :func:`resume_changes`.
_RUN_LOCATION = frozenset({"resume", "run_dir"})


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
