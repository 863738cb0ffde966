"""Policies: the tiny embedded model and local Hugging Face checkpoints (nothing from a hub)."""

from agentgym_seal.models.copy_pretrain import CopyTaskConfig, copy_pretrain, copy_task_pairs, ordinary_token_ids
from agentgym_seal.models.loading import ModelLoadError, check_model_folder, load_policy, load_tokenizer
from agentgym_seal.models.tiny import TinyModelConfig, build_tiny_model, tiny_policy
from agentgym_seal.models.tokenizer import CHAT_TEMPLATE, TAG_TOKENS, train_tokenizer

__all__ = [
    "CHAT_TEMPLATE",
    "TAG_TOKENS",
    "CopyTaskConfig",
    "ModelLoadError",
    "TinyModelConfig",
    "build_tiny_model",
    "check_model_folder",
    "copy_pretrain",
    "copy_task_pairs",
    "load_policy",
    "load_tokenizer",
    "ordinary_token_ids",
    "tiny_policy",
    "train_tokenizer",
]
