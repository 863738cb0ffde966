"""Generation engines behind one protocol: ``hf`` (transformers) and ``vllm`` (``vllm.LLM``, imported lazily)."""

from agentgym_seal.engines.base import FinishReason, GenerationEngine, GenerationOutput, SamplingParams
from agentgym_seal.engines.hf import HFEngine
from agentgym_seal.registry import Registry

#: Engine classes by name (lazy, so importing this package does not import vLLM).
ENGINES: Registry[type] = Registry("generation engine")
ENGINES.register("hf", "agentgym_seal.engines.hf:HFEngine")
ENGINES.register("vllm", "agentgym_seal.engines.vllm:VLLMEngine")

__all__ = ["ENGINES", "FinishReason", "GenerationEngine", "GenerationOutput", "HFEngine", "SamplingParams"]
