"""The warm-up: the policy it starts from (a local checkpoint or the tiny model) and SFT on expert demonstrations.

The demonstrations are the env family's expert episodes (``FamilySpec.warmup_kwargs``) as (prompt, response)
texts, cached beside the run folders (``.models/demos-<key>.json``) per seed and per the flags that shape them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from agentgym_seal.atomic import write_json_atomic
from agentgym_seal.errors import AgentGymError
from agentgym_seal.experts import expert_demonstrations
from agentgym_seal.models import CopyTaskConfig, TinyModelConfig, load_policy, tiny_policy
from agentgym_seal.models.sft import SFTConfig, sft_warmup
from agentgym_seal.models.tiny import copy_report
from agentgym_seal.prompting import build_prompt

from .config import TrainConfig
from .resume import DEMO_FLAGS, flag_value

#: ``on_step(done, total, loss)`` progress of a phase, opened as a context (the trainer's progress lines).
ProgressBar = Callable[[str], AbstractContextManager[Callable[[int, int, float], None]]]

# Bump when the text of demonstrations changes (3: the bm25 defaults, and so the retrieved passages, changed
# on 2026-12-06; the tiny model is keyed by its corpus, so unchanged demonstrations reuse it).
_DEMO_CACHE_VERSION = 3
#: Fewest warm-up optimizer steps for which ``--warmup.processes 0`` (auto) starts helper processes.
_PARALLEL_WARMUP_MIN_STEPS = 200


def warmup_processes(num_pairs: int, batch_size: int, epochs: int, num_threads: int) -> int:
    """``--warmup.processes 0`` (auto): one process per thread when the warm-up is long enough to pay for them.

    >>> warmup_processes(3000, 32, 10, 2), warmup_processes(40, 8, 2, 2), warmup_processes(3000, 32, 10, 1)
    (2, 1, 1)
    """
    steps = -(-num_pairs // batch_size) * epochs
    return max(1, num_threads) if steps >= _PARALLEL_WARMUP_MIN_STEPS else 1


class Warmup:
    """The demonstrations and the policy of one run, before RL (``cache``: the ``.models`` folder of runs)."""

    def __init__(self, cfg: TrainConfig, cache: Path, progress: ProgressBar) -> None:
        self.cfg, self.cache, self.progress = cfg, cache, progress
        self.family = cfg.family
        self.copy_metrics: dict[str, float] = {}  # the tiny model's copy pretraining, when it had one
        self._pairs: list[tuple[str, str]] | None = None

    def demonstrations(self) -> list[tuple[str, str]]:
        """(prompt text, expert response) pairs of the warm-up episodes, deterministic per seed (cached)."""
        if self._pairs is not None:
            return self._pairs
        config = dataclasses.asdict(self.cfg)
        flags = {flag: flag_value(config, flag) for flag in DEMO_FLAGS}
        key = json.dumps(
            [_DEMO_CACHE_VERSION, self.cfg.env, self.family.shared_kwargs(self.cfg), flags], sort_keys=True
        )
        path = self.cache / f"demos-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
        if path.is_file():
            self._pairs = [(p, r) for p, r in json.loads(path.read_text())]
        else:
            self._pairs = self._play()
            write_json_atomic(path, self._pairs)
        return self._pairs

    def _play(self) -> list[tuple[str, str]]:
        cfg, template = self.cfg, self.family.prompt_template
        demos = expert_demonstrations(
            cfg.warmup.episodes, seed=cfg.seed, history_length=cfg.history_length, env_id=cfg.env,
            noise=cfg.warmup.noise, invalid_noise=cfg.warmup.invalid_noise, epsilon=cfg.warmup.epsilon,
            **self.family.warmup_kwargs(cfg),
        )  # fmt: skip
        return [
            (
                build_prompt(
                    template,
                    task=d.task,
                    observation=d.observation,
                    admissible_actions=d.admissible_actions,
                    history=d.history,
                    history_length=cfg.history_length,
                    step=d.step,
                ),
                template.expert_response.format(action=d.action),
            )
            for d in demos
        ]

    def load_policy(self, checkpoint: Path | None) -> tuple[Any, Any]:
        """``(model, tokenizer)``: a resumed ``checkpoint``'s, ``--model``'s, or the tiny model (built or cached)."""
        cfg = self.cfg
        if checkpoint is not None:  # weights and tokenizer: no tokenizer or copy pretraining to rebuild
            return load_policy(checkpoint / "model")
        if cfg.model != "tiny":
            return load_policy(cfg.model)
        pairs = self.demonstrations() if cfg.warmup.episodes > 0 else []
        corpus = [p for p, _ in pairs] + [r for _, r in pairs]
        if not corpus:
            raise AgentGymError("the tiny model's tokenizer is trained on demonstrations: set --warmup.episodes > 0")
        size = TinyModelConfig(hidden_size=cfg.tiny_hidden_size, intermediate_size=4 * cfg.tiny_hidden_size,
                               num_layers=cfg.tiny_layers, seed=cfg.seed)  # fmt: skip
        copy = CopyTaskConfig(sequences=cfg.tiny_copy_sequences, seed=cfg.seed)
        processes = cfg.warmup.processes or warmup_processes(copy.sequences, copy.batch_size, 1, cfg.num_threads)
        with self.progress("copy pretraining") as on_step:
            model, tokenizer, folder = tiny_policy(
                size, corpus, self.cache, copy=copy, processes=processes, on_copy_step=on_step
            )
        if (report := copy_report(folder)) is not None:  # when it was built (maybe by an earlier run: it is cached)
            self.copy_metrics = {"copy/loss": report["loss"], "timing/copy_pretrain_s": report["seconds"]}
        return model, tokenizer

    def run(self, model: Any, tokenizer: Any) -> dict[str, float]:
        """SFT of ``model`` on the demonstrations (``--warmup.*``); the ``warmup/*`` and timing metrics."""
        w = self.cfg.warmup
        if w.episodes <= 0:
            return {}
        pairs = [self.encode(tokenizer, p, r) for p, r in self.demonstrations()]
        sft = SFTConfig(
            epochs=w.epochs, lr=w.lr, batch_size=w.batch_size, max_seconds=w.seconds, seed=self.cfg.seed,
            processes=w.processes or warmup_processes(len(pairs), w.batch_size, w.epochs, self.cfg.num_threads),
        )  # fmt: skip
        with self.progress("warm-up (SFT)") as on_step:
            result = sft_warmup(model, pairs, tokenizer.pad_token_id, sft, on_step=on_step)
        return {
            "warmup/loss": result.final_loss,
            "warmup/epochs": result.epochs_done,
            "timing/warmup_s": result.seconds,
            "warmup/processes": float(sft.processes),
        }

    def encode(self, tokenizer: Any, prompt: str, response: str) -> tuple[list[int], list[int]]:
        """Token ids of one demonstration: the chat-templated prompt (its last --max-prompt-length), the response."""
        chat = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
        )
        prompt_ids = tokenizer(chat, add_special_tokens=False)["input_ids"][-self.cfg.max_prompt_length :]
        response_ids = tokenizer(response + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        return prompt_ids, response_ids
