"""--device: the policy, the warm-up, the learner's batches and the SEAL head live on one device."""

import copy
import math
from pathlib import Path
from typing import Any

import pytest

from agentgym_seal.backends import SEALConfig
from agentgym_seal.backends.config import TrainConfig, parse_train_args
from agentgym_seal.backends.learner import Learner, LearnerConfig
from agentgym_seal.errors import ConfigError

from .test_learner import make_batch

torch = pytest.importorskip("torch")
CUDA = torch.cuda.is_available()


def test_device_resolves_auto_to_what_torch_sees() -> None:
    assert parse_train_args([]).device == "auto"
    assert TrainConfig(device="auto").torch_device == ("cuda" if CUDA else "cpu")
    assert TrainConfig(device="cpu").torch_device == "cpu"


@pytest.mark.skipif(CUDA, reason="checks the error raised without a CUDA device")
def test_device_cuda_without_cuda_fails_at_start_before_any_work(tmp_path: Path) -> None:
    from agentgym_seal.backends.trainer import Trainer

    run_dir = tmp_path / "run"
    with pytest.raises(ConfigError, match="--device cuda") as info:
        Trainer(TrainConfig(device="cuda", run_dir=str(run_dir)))
    assert "--device cpu" in str(info.value)
    assert not run_dir.exists()  # nothing was built or written


def _update_on(device: str, tiny_policy: Any) -> tuple[Learner, dict[str, float]]:
    model, tok = tiny_policy
    model = copy.deepcopy(model).to(device)
    learner = Learner(
        model, tok.pad_token_id, cfg=LearnerConfig(lr=1e-3, micro_batch_size=3), seal=SEALConfig(alpha=0.02)
    )
    return learner, learner.update(make_batch(tok))


def test_learner_follows_the_policys_device(tiny_policy: Any) -> None:
    learner, metrics = _update_on("cpu", tiny_policy)
    assert learner.device == torch.device("cpu")
    assert learner.head is not None and all(p.device == learner.device for p in learner.head.parameters())
    assert metrics["actor/grad_norm"] > 0


@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
def test_update_and_warmup_on_cuda_match_the_cpu(tiny_policy: Any) -> None:
    from agentgym_seal.models.sft import SFTConfig, sft_warmup

    cpu_learner, cpu_metrics = _update_on("cpu", tiny_policy)
    gpu_learner, gpu_metrics = _update_on("cuda", tiny_policy)
    assert gpu_learner.device.type == "cuda"
    assert gpu_metrics["actor/pg_loss"] == pytest.approx(cpu_metrics["actor/pg_loss"], abs=1e-4)
    for a, b in zip(cpu_learner.model.parameters(), gpu_learner.model.parameters(), strict=True):
        torch.testing.assert_close(a, b.cpu(), atol=1e-4, rtol=1e-3)
    model, tok = tiny_policy
    gpu_model = copy.deepcopy(model).to("cuda")
    pairs = [(tok("You see a drawer 1.")["input_ids"], tok("<action>go to drawer 1</action>")["input_ids"])] * 4
    result = sft_warmup(gpu_model, pairs, tok.pad_token_id, SFTConfig(epochs=1, batch_size=2))
    assert result.steps == 2 and math.isfinite(result.final_loss)
