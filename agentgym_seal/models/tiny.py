"""The embedded default policy: a tiny Qwen2 built locally, with a tokenizer trained on env text.

Built once per (architecture, corpus) and cached as an ordinary Hugging Face folder, so the rest of the
code loads it exactly like a real checkpoint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agentgym_seal.atomic import save_atomically
from agentgym_seal.deps import require
from agentgym_seal.models.copy_pretrain import CopyTaskConfig, copy_pretrain
from agentgym_seal.models.loading import load_policy
from agentgym_seal.models.tokenizer import train_tokenizer


@dataclass(frozen=True)
class TinyModelConfig:
    """Size of the tiny Qwen2 (defaults: ~1.3M parameters with a 2k vocab).

    Attributes:
        hidden_size: Model width.
        num_layers: Decoder layers.
        num_heads: Attention heads.
        num_kv_heads: Key/value heads (grouped-query attention).
        intermediate_size: MLP width.
        vocab_size: Target BPE vocabulary (the trained one may be smaller; the embedding is padded to 64).
        max_position_embeddings: Longest sequence.
        seed: Initialisation seed.
    """

    hidden_size: int = 128
    num_layers: int = 4
    num_heads: int = 4
    num_kv_heads: int = 2
    intermediate_size: int = 512
    vocab_size: int = 2048
    max_position_embeddings: int = 4096
    seed: int = 0


def build_tiny_model(cfg: TinyModelConfig, tokenizer: Any) -> Any:
    """A randomly initialised ``Qwen2ForCausalLM`` sized by ``cfg`` for ``tokenizer``."""
    torch = require("torch", "train")
    transformers = require("transformers", "train")
    vocab = (len(tokenizer) + 63) // 64 * 64
    config = transformers.Qwen2Config(
        vocab_size=vocab,
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_kv_heads,
        max_position_embeddings=cfg.max_position_embeddings,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(cfg.seed)
    return transformers.Qwen2ForCausalLM(config)


#: The file of a cached tiny model's folder that reports its copy pretraining (absent without one).
COPY_REPORT = "copy_pretrain.json"


def copy_report(folder: Path) -> dict[str, float] | None:
    """What the copy pretraining of the tiny model in ``folder`` did (``loss``, ``steps``, ``seconds``), or None."""
    path = folder / COPY_REPORT
    return json.loads(path.read_text()) if path.is_file() else None


def tiny_policy(
    cfg: TinyModelConfig,
    corpus: Sequence[str],
    cache_dir: str | Path,
    *,
    copy: CopyTaskConfig | None = None,
    processes: int = 1,
    on_copy_step: Callable[[int, int, float], None] | None = None,
) -> tuple[Any, Any, Path]:
    """Loads the tiny model for ``(cfg, corpus, copy)`` from ``cache_dir``, building and caching it first if needed.

    Building trains the tokenizer on ``corpus``, initialises the model and, with ``copy`` (and
    ``copy.sequences`` > 0), pretrains it on the synthetic copy task (:mod:`.copy_pretrain`) on ``processes``
    data-parallel CPU processes, reporting to ``on_copy_step``.

    Returns:
        ``(model, tokenizer, folder)``.
    """
    copy_key = asdict(copy) if copy is not None and copy.sequences > 0 else None
    parts: list[Any] = [asdict(cfg), list(corpus)] + ([copy_key] if copy_key else [])  # old keys stay valid
    key = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]
    folder = Path(cache_dir) / "models" / f"tiny-qwen2-{key}"
    if not (folder / "config.json").is_file():
        tokenizer: Any = train_tokenizer(corpus, vocab_size=cfg.vocab_size)
        model = build_tiny_model(cfg, tokenizer)
        copied = copy_pretrain(model, tokenizer, copy, processes=processes, on_step=on_copy_step) if copy else None

        def save(tmp: Path) -> None:
            require("transformers", "train").utils.logging.disable_progress_bar()
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            if copied is not None:  # what the copy pretraining did, for the run's records
                report = {"loss": copied.final_loss, "steps": copied.steps, "seconds": copied.seconds}
                (tmp / COPY_REPORT).write_text(json.dumps(report))

        save_atomically(folder, save)
    model, tokenizer = load_policy(folder)
    return model, tokenizer, folder
