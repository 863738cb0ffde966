"""LoRA adapters (peft) on a causal LM: wrap, export merged weights, save and reload checkpoints.

The adapters train; the base weights stay frozen (the SEAL head is the learner's own module and trains in
full). Everything outside training sees plain transformers names: :func:`plain_state_dict` merges the
adapters into the base weights (for engine replicas, reference policies and ``final/``), and
:func:`save_policy` / :func:`load_policy_weights` write and restore a checkpoint (frozen base weights as an
ordinary Hugging Face folder, the adapters in its ``adapter/`` subfolder).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentgym_seal.deps import require
from agentgym_seal.errors import ConfigError

ADAPTER_FOLDER = "adapter"
_ADAPTER = "default"
_BASE = ".base_layer."


@dataclass(frozen=True)
class LoRASettings:
    """LoRA hyper-parameters (arXiv 2106.09685).

    Attributes:
        rank: Rank r of each adapter (``0`` disables LoRA).
        alpha: Scaling numerator (the update is ``alpha / r * B A``); ``None`` uses ``2 r``.
        dropout: Dropout on the adapter input.
        target_modules: Linear modules that get adapters (``all-linear``: every linear layer but the output head).
    """

    rank: int = 0
    alpha: float | None = None
    dropout: float = 0.0
    target_modules: str | tuple[str, ...] = field(default="all-linear")

    def __post_init__(self) -> None:
        if self.rank < 0:
            raise ConfigError(f"--lora-rank must be >= 0; got {self.rank}.")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"--lora-dropout must be in [0, 1); got {self.dropout}.")


def is_lora(model: Any) -> bool:
    """Whether ``model`` is a peft model with LoRA adapters."""
    return hasattr(model, "peft_config") and hasattr(model, "get_base_model")


def apply_lora(model: Any, settings: LoRASettings) -> Any:
    """Wraps ``model`` with trainable LoRA adapters; every base weight is frozen.

    Raises:
        ConfigError: ``settings.rank`` is 0.
        DependencyNotInstalled: peft is missing (extra ``lora``).
    """
    if settings.rank < 1:
        raise ConfigError("apply_lora needs rank >= 1. Fix: pass --lora-rank R with R >= 1, or skip LoRA.")
    peft = require("peft", "lora")
    config = peft.LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha if settings.alpha is not None else 2 * settings.rank,
        lora_dropout=settings.dropout,
        target_modules=settings.target_modules
        if isinstance(settings.target_modules, str)
        else list(settings.target_modules),
        task_type="CAUSAL_LM",
    )
    return peft.get_peft_model(model, config)


def base_model(model: Any) -> Any:
    """The transformers model inside a peft wrapper (``model`` itself when it is plain)."""
    return model.get_base_model() if is_lora(model) else model


def plain_state_dict(model: Any, *, merged: bool = True) -> dict[str, Any]:
    """``model``'s weights under plain transformers names, detached on the CPU.

    Args:
        model: A plain or LoRA-wrapped causal LM.
        merged: Add each adapter's update ``alpha / r * B A`` to its base weight (else: the frozen base).
    """
    torch = require("torch", "train")
    if not is_lora(model):
        return {k: v.detach().to("cpu") for k, v in model.state_dict().items()}
    base = base_model(model)
    modules = dict(base.named_modules())
    out: dict[str, Any] = {}
    with torch.no_grad():
        for name, value in base.state_dict().items():
            if ".lora_" in name:
                continue
            if _BASE not in name:
                out[name] = value.detach().to("cpu")
                continue
            owner, attr = name.split(_BASE)
            tensor = value.detach()
            layer = modules[owner]
            if merged and attr == "weight" and _ADAPTER in getattr(layer, "lora_A", {}):
                tensor = tensor + layer.get_delta_weight(_ADAPTER).to(tensor.dtype)
            out[f"{owner}.{attr}"] = tensor.to("cpu").clone()
    return out


def model_from_weights(config: Any, weights: dict[str, Any]) -> Any:
    """A plain causal LM of ``config`` holding ``weights`` (plain names, e.g. from :func:`plain_state_dict`)."""
    transformers = require("transformers", "train")
    model = transformers.AutoModelForCausalLM.from_config(config)
    model.load_state_dict(weights)
    return model


def plain_copy(model: Any) -> Any:
    """A plain transformers model with ``model``'s (merged) weights, in eval mode."""
    return model_from_weights(base_model(model).config, plain_state_dict(model)).eval()


def save_policy(model: Any, folder: str | Path, *, merged: bool = False) -> None:
    """Saves ``model`` as a Hugging Face folder (``from_pretrained`` loads it).

    A LoRA model is saved as its base weights (merged with the adapters when ``merged``) plus the adapters
    in ``folder/adapter`` (peft's format), so :func:`load_policy_weights` can continue training it.
    """
    folder = Path(folder)
    if not is_lora(model):
        model.save_pretrained(folder)
        return
    base_model(model).save_pretrained(folder, state_dict=plain_state_dict(model, merged=merged))
    model.save_pretrained(folder / ADAPTER_FOLDER)


def load_policy_weights(model: Any, folder: str | Path) -> None:
    """Loads weights saved by :func:`save_policy` (unmerged for LoRA) into ``model`` in place."""
    transformers = require("transformers", "train")
    saved = transformers.AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True)
    if not is_lora(model):
        model.load_state_dict(saved.state_dict())
        return
    peft = require("peft", "lora")
    adapter = Path(folder) / ADAPTER_FOLDER
    if not adapter.is_dir():
        raise ConfigError(f"{folder} has no {ADAPTER_FOLDER}/ folder: it was not saved from a LoRA model.")
    base = base_model(model)
    names = set(base.state_dict())
    state = {}
    for name, value in saved.state_dict().items():
        owner, _, attr = name.rpartition(".")
        wrapped = f"{owner}{_BASE}{attr}"
        state[wrapped if wrapped in names else name] = value
    missing = [k for k in base.load_state_dict(state, strict=False).missing_keys if ".lora_" not in k]
    if missing:
        raise ConfigError(f"{folder} lacks base weights {missing[:3]}: saved from a different model?")
    peft.set_peft_model_state_dict(model, peft.utils.load_peft_weights(str(adapter), device="cpu"))
