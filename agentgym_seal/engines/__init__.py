"""Generation engines behind one protocol: ``hf`` (transformers) now, ``vllm`` for GPUs later."""

from agentgym_seal.engines.base import FinishReason, GenerationEngine, GenerationOutput, SamplingParams
from agentgym_seal.engines.hf import HFEngine
from agentgym_seal.registry import Registry

#: Engine classes by name (lazy, so importing this package does not import vLLM).
ENGINES: Registry[type] = Registry("generation engine")
ENGINES.register("hf", "agentgym_seal.engines.hf:HFEngine")

__all__ = ["ENGINES", "FinishReason", "GenerationEngine", "GenerationOutput", "HFEngine", "SamplingParams"]
