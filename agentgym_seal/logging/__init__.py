"""Metric sinks (JSONL now; TensorBoard and W&B with the monitor)."""

from agentgym_seal.logging.jsonl import JsonlWriter, read_jsonl, write_json_atomic

__all__ = ["JsonlWriter", "read_jsonl", "write_json_atomic"]
