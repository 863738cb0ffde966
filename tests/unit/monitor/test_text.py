"""Sentence duplication ratio and repeated n-gram mass (SPEC 6.1, SEAL-repo repetition.py worked examples)."""

import math

import pytest

from agentgym_seal.monitor import (
    degeneracy_base,
    repeated_ngram_mass,
    sentence_duplication_ratio,
    split_sentences,
    text_degeneracy,
    tokenize,
)

A = "I should go to the kitchen first."
B = "The apple is probably on the countertop."
C = "Then I will put it in the fridge now."


def test_every_copy_counts() -> None:
    assert sentence_duplication_ratio(f"{A} {A} {B}") == pytest.approx(2 / 3)  # [a, a, b] -> 2/3
    assert sentence_duplication_ratio(f"{A} {B} {A} {A} {C}") == pytest.approx(3 / 5)
    assert sentence_duplication_ratio(f"{A} {B} {C}") == 0.0
    assert sentence_duplication_ratio(f"{A} {A}") == 1.0


def test_short_sentences_are_ignored() -> None:
    assert sentence_duplication_ratio("Ok. Ok. Ok. Go now! Go now!") == 0.0  # all < 20 chars: none kept -> 0
    assert sentence_duplication_ratio(f"Ok. Ok. Ok. {A} {B}") == 0.0  # the short copies count nowhere
    twenty, nineteen = "Abcdefghij klmnopqr.", "Abcdefghij klmnopq."
    assert (len(twenty), len(nineteen)) == (20, 19)
    assert sentence_duplication_ratio(f"{twenty} {twenty}") == 1.0  # >= 20 characters: kept
    assert sentence_duplication_ratio(f"{nineteen} {nineteen}") == 0.0  # 19: dropped


def test_normalisation_lowercases_and_collapses_whitespace() -> None:
    assert sentence_duplication_ratio(f"{A}  {A.upper()}\n\n{A.replace(' ', '   ')} {B}") == pytest.approx(3 / 4)


def test_think_block_is_preferred() -> None:
    text = f"<think>{A} {A}</think> <action>{B} {C} {B}</action>"
    assert sentence_duplication_ratio(text) == 1.0  # only the think block: [a, a]
    assert sentence_duplication_ratio(f"<THINK>\n{A}\n{B}\n</Think> {C} {C}") == 0.0  # case-insensitive, DOTALL
    assert sentence_duplication_ratio(f"{A} {A} {B} <think>  </think>") == pytest.approx(2 / 3)  # empty: whole text
    assert sentence_duplication_ratio(f"<think>{A} {B}</think><think>{C} {C}</think>") == 0.0  # first block only
    assert degeneracy_base(f"no think here. {A}") == f"no think here. {A}"


def test_split_rules() -> None:
    assert split_sentences("One. Two!  Three?\nFour") == ["One.", "Two!", "Three?", "Four"]
    assert split_sentences("e.g.no space. x") == ["e.g.no space.", "x"]  # only whitespace after .!? splits
    assert split_sentences("   ") == []
    assert sentence_duplication_ratio("") == 0.0


def test_repeated_ngram_mass() -> None:
    assert tokenize("Go, to: the KITCHEN!") == ["go", ",", "to", ":", "the", "kitchen", "!"]
    assert repeated_ngram_mass("a b c a b c", 3) == pytest.approx(2 / 4)  # abc,bca,cab,abc: abc twice
    assert repeated_ngram_mass("a b c d", 5) == 0.0  # fewer than n tokens
    assert repeated_ngram_mass("x x x x", 1) == 1.0
    think = "<think>a b a b</think> c d e f"
    assert repeated_ngram_mass(think, 2) == pytest.approx(2 / 3)  # think block: ab, ba, ab
    assert repeated_ngram_mass(think, 2, think_first=False) < 2 / 3
    with pytest.raises(ValueError, match="n to be an int >= 1"):
        repeated_ngram_mass("a", 0)


def test_text_degeneracy_batch() -> None:
    out = text_degeneracy([f"{A} {A} {B}", f"{A} {B} {C}", f"{A} {A} {B} {C}"])
    assert set(out) == {"text/sentence_dup", "text/sentence_dup_ge_25", "text/repeated_5gram_mass"}
    assert out["text/sentence_dup"] == pytest.approx((2 / 3 + 0 + 2 / 4) / 3)
    assert out["text/sentence_dup_ge_25"] == pytest.approx(2 / 3)
    assert 0 < out["text/repeated_5gram_mass"] < 1
    assert all(math.isnan(v) for v in text_degeneracy([]).values())
