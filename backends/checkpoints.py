"""Checkpoints of a run folder: writing and reading them, and telling an intact one from a damaged one.

A checkpoint is ``checkpoints/step_<k>/`` (``model/``, ``learner.pt``, ``state.json``, ``manifest.json``),
written atomically with the manifest last; ``final/`` gets a manifest too. A checkpoint written before manifests
existed (no ``manifest.json``, ``state.json`` without ``"manifest"``) is checked file by file instead.
"""

from __future__ import annotations

import json
import random
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from agentgym_seal.atomic import MANIFEST, manifest_problem, save_atomically

STATE = "state.json"
_STEP_FOLDER = re.compile(r"step_(\d+)")
#: Files a tokenizer may keep its vocabulary in (one is needed): fast, sentencepiece, BPE.
_VOCABULARIES = ("tokenizer.json", "tokenizer.model", "vocab.json")


def checkpoint_dir(run_dir: Path, step: int) -> Path:
    """The folder of the checkpoint taken after RL step ``step`` (0: the warmed-up policy)."""
    return run_dir / "checkpoints" / f"step_{step:06d}"


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """Every ``checkpoints/step_<k>`` folder of a run folder as ``(k, folder)``, oldest first."""
    folder = run_dir / "checkpoints"
    found = [(p, _STEP_FOLDER.fullmatch(p.name)) for p in folder.iterdir()] if folder.is_dir() else []
    return sorted((int(m.group(1)), p) for p, m in found if m is not None and p.is_dir())


def save_checkpoint(folder: Path, model: Any, tokenizer: Any, learner: Any, step: int) -> None:
    """Writes the model, tokenizer, learner and RNG states after ``step`` to ``folder`` (all or nothing)."""
    import torch

    from agentgym_seal.models.lora import save_policy

    def save(tmp: Path) -> None:
        save_policy(model, tmp / "model")  # LoRA: frozen base weights + model/adapter/
        tokenizer.save_pretrained(tmp / "model")
        torch.save({"learner": learner.state_dict(), "rng": _rng_state()}, tmp / "learner.pt")
        (tmp / STATE).write_text(json.dumps({"step": step, "manifest": True}))

    save_atomically(folder, save, manifest=True)


def load_checkpoint(folder: Path, model: Any, learner: Any) -> int:
    """Restores a checkpoint into ``model`` and ``learner`` (and the RNGs); returns the step it was taken after."""
    import torch

    from agentgym_seal.models.lora import load_policy_weights

    step = int(json.loads((folder / STATE).read_text())["step"])
    load_policy_weights(model, folder / "model")
    saved = torch.load(folder / "learner.pt", weights_only=False)
    learner.load_state_dict(saved["learner"])
    _set_rng_state(saved["rng"])
    return step


def save_final(folder: Path, model: Any, tokenizer: Any, head: Any) -> None:
    """Writes the trained model (LoRA merged), its tokenizer and the SEAL head's weights to ``folder``."""
    import torch

    from agentgym_seal.models.lora import save_policy

    def save(tmp: Path) -> None:
        save_policy(model, tmp, merged=True)  # LoRA: adapters merged in (plus final/adapter/)
        tokenizer.save_pretrained(tmp)
        if head is not None:
            torch.save(head.state_dict(), tmp / "seal_head.pt")

    save_atomically(folder, save, manifest=True)


def checkpoint_problem(folder: Path, step: int, *, lora: bool) -> str | None:
    """What makes the checkpoint of ``step`` in ``folder`` unusable (naming the file, relative), or None.

    Its state.json must hold that step; then its manifest is verified, or (a checkpoint older than manifests)
    the files the loader reads must exist and parse.
    """
    state_path = folder / STATE
    if not state_path.is_file():
        return f"{STATE} is missing"
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        return f"{STATE} is not valid JSON ({exc})"
    if not isinstance(state, dict) or type(state.get("step")) is not int:
        return f'{STATE} holds {state!r}, expected {{"step": {step}}}'
    if state["step"] != step:
        return f"{STATE} says step {state['step']}, but the folder is step {step}"
    if state.get("manifest") or (folder / MANIFEST).exists():
        return manifest_problem(folder)
    return _files_problem(folder, lora=lora)


def _files_problem(folder: Path, *, lora: bool) -> str | None:
    """The first file of a checkpoint without a manifest that is missing or does not parse, or None."""
    model = folder / "model"
    vocabulary = next((name for name in _VOCABULARIES if (model / name).is_file()), "tokenizer.json")
    checks = [
        ("learner.pt", _zip_problem), ("model/config.json", _json_problem),
        ("model/tokenizer_config.json", _json_problem), (f"model/{vocabulary}", _vocabulary_problem),
    ]  # fmt: skip
    index = model / "model.safetensors.index.json"
    if index.is_file():
        checks.append(("model/model.safetensors.index.json", _json_problem))
        if (shards := _shards(index)) is not None:
            checks += [(f"model/{shard}", _safetensors_problem) for shard in shards]
    else:
        checks.append(("model/model.safetensors", _safetensors_problem))
    if lora:
        checks += [
            ("model/adapter/adapter_config.json", _json_problem),
            ("model/adapter/adapter_model.safetensors", _safetensors_problem),
        ]
    for name, check in checks:
        path = folder / name
        problem = check(path) if path.is_file() else "is missing"
        if problem is not None:
            return f"{name} {problem}"
    return None


def _json_problem(path: Path) -> str | None:
    """Why a file is not a JSON object, or None."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        return f"is not valid JSON ({exc})"
    return None if isinstance(value, dict) else f"holds a {type(value).__name__}, expected a JSON object"


def _vocabulary_problem(path: Path) -> str | None:
    """Why a tokenizer vocabulary file is unusable, or None (tokenizer.json and vocab.json must be JSON objects)."""
    return _json_problem(path) if path.suffix == ".json" else None


def _shards(index: Path) -> list[str] | None:
    """The shard files a sharded safetensors index names (None when the index is not one)."""
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map")
    except (ValueError, AttributeError):
        return None
    return sorted({str(v) for v in weight_map.values()}) if isinstance(weight_map, dict) else None


def _zip_problem(path: Path) -> str | None:
    """Why a ``torch.save`` file (a zip archive) is damaged (CRC of every member), or None."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        return f"is not a readable torch.save archive ({exc})"
    return None if bad is None else f"is damaged (member {bad} fails its CRC)"


def _safetensors_problem(path: Path) -> str | None:
    """Why a safetensors file does not parse (its header must cover the file exactly), or None."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), "np"):
            return None
    except Exception as exc:  # safetensors raises its own error type for every damage
        return f"is not a readable safetensors file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"


def _rng_state() -> dict[str, Any]:
    import torch

    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def _set_rng_state(state: dict[str, Any]) -> None:
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
