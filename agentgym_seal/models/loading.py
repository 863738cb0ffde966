"""Load a policy (causal LM + tokenizer with a chat template) from a local folder; never from a hub."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentgym_seal.deps import require
from agentgym_seal.errors import AgentGymError


class ModelLoadError(AgentGymError, ValueError):
    """A model folder is missing, is not a causal LM, or its tokenizer cannot chat."""


def check_model_folder(path: str | Path) -> Path:
    """Checks that ``path`` is a local Hugging Face causal-LM folder (reading only); returns it resolved."""
    folder = Path(path).expanduser()
    fix = "pass the path of a local Hugging Face model folder (with config.json and weights); nothing is downloaded"
    if not folder.exists():
        raise ModelLoadError(f"model folder {str(folder)!r} does not exist. Fix: {fix}.")
    if not folder.is_dir():
        raise ModelLoadError(f"model path {str(folder)!r} is a file, not a model folder. Fix: {fix}.")
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ModelLoadError(f"{folder} has no config.json: it is not a Hugging Face model folder. Fix: {fix}.")
    try:
        config = json.loads(config_path.read_text())
    except ValueError as exc:
        raise ModelLoadError(f"{config_path} is not valid JSON ({exc}). Fix: {fix}.") from None
    if not isinstance(config, dict):
        raise ModelLoadError(f"{config_path} holds a {type(config).__name__}, not a JSON object. Fix: {fix}.")
    architectures = config.get("architectures") or []
    if not any(str(a).endswith(("ForCausalLM", "LMHeadModel")) for a in architectures):
        raise ModelLoadError(
            f"{folder} holds {architectures or 'an unknown architecture'}, expected a causal LM "
            "(architectures ending in 'ForCausalLM'). Fix: pass a decoder-only language model."
        )
    return folder


def load_tokenizer(path: str | Path) -> Any:
    """Loads the tokenizer of a local folder and checks it has a chat template."""
    transformers = require("transformers", "train")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    if not getattr(tokenizer, "chat_template", None):
        raise ModelLoadError(
            f"the tokenizer in {path} has no chat template. Fix: use an instruct/chat checkpoint, or set "
            "tokenizer.chat_template and save it with tokenizer.save_pretrained."
        )
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return tokenizer


def load_policy(path: str | Path, *, dtype: str = "float32") -> tuple[Any, Any]:
    """Loads ``(model, tokenizer)`` from a local folder (``local_files_only``: no hub access)."""
    folder = check_model_folder(path)
    transformers = require("transformers", "train")
    torch = require("torch", "train")
    transformers.utils.logging.disable_progress_bar()  # a library must not draw bars on every load
    model = transformers.AutoModelForCausalLM.from_pretrained(
        str(folder), local_files_only=True, dtype=getattr(torch, dtype)
    )
    return model, load_tokenizer(folder)
