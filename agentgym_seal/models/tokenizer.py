"""A small BPE tokenizer trained on environment text, with a ChatML chat template.

Tags such as ``<think>`` and ``<action>`` are *ordinary* added tokens: they are single ids, but
``decode(..., skip_special_tokens=True)`` keeps them (TRL and vLLM decode that way, and deleting the
tags would make every message format-invalid). Only the chat-control tokens are special.
"""

from __future__ import annotations

from collections.abc import Iterable

from agentgym_seal.deps import require

#: Chat-control tokens (special: skipped when decoding with ``skip_special_tokens=True``).
EOS_TOKEN = "<|im_end|>"
BOS_TOKEN = "<|im_start|>"
PAD_TOKEN = "<|pad|>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD_TOKEN, BOS_TOKEN, EOS_TOKEN, "<|endoftext|>")
#: Env tags, kept as ordinary single tokens.
TAG_TOKENS: tuple[str, ...] = (
    "<think>", "</think>", "<action>", "</action>", "<search>", "</search>",
    "<answer>", "</answer>", "<information>", "</information>",
)  # fmt: skip

#: ChatML, the template of Qwen2.5 instruct models.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def train_tokenizer(corpus: Iterable[str], *, vocab_size: int = 2048, min_frequency: int = 2) -> object:
    """Trains a byte-level BPE tokenizer on ``corpus`` and wraps it as ``PreTrainedTokenizerFast``.

    Byte-level, so any string (unicode, binary junk) encodes and round-trips.

    Returns:
        A ``transformers.PreTrainedTokenizerFast`` with pad/bos/eos set and :data:`CHAT_TEMPLATE`.
    """
    tokenizers = require("tokenizers", "train")
    transformers = require("transformers", "train")
    tok = tokenizers.Tokenizer(tokenizers.models.BPE(unk_token=None))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token=PAD_TOKEN, bos_token=BOS_TOKEN, eos_token=EOS_TOKEN, padding_side="left"
    )
    fast.add_tokens(list(TAG_TOKENS), special_tokens=False)
    fast.chat_template = CHAT_TEMPLATE
    return fast
