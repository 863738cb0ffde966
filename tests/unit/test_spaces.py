import pickle

import gymnasium
import numpy as np
import pytest

from agentgym_seal.spaces import SAMPLE_CHARSET, TextSpace


def test_contains_real_language_empty_and_unicode() -> None:
    space = TextSpace(max_length=100)
    assert space.contains("go to countertop 1")
    assert space.contains("")
    assert space.contains("café → 中文 🙂")
    assert not space.contains("x" * 101)
    assert not space.contains(3)
    assert not space.contains(b"bytes")


def test_gymnasium_text_rejects_spaces_which_is_why_we_have_textspace() -> None:
    assert not gymnasium.spaces.Text(max_length=100).contains("go to countertop 1")


def test_sample_is_seeded_in_charset_and_in_space() -> None:
    a, b = TextSpace(max_length=40, seed=3), TextSpace(max_length=40, seed=3)
    samples = [a.sample() for _ in range(50)]
    assert samples == [b.sample() for _ in range(50)]
    assert all(a.contains(s) and set(s) <= set(SAMPLE_CHARSET) for s in samples)
    assert len({len(s) for s in samples}) > 5  # lengths vary, empty included in the range


def test_sample_respects_small_max_length_and_rejects_masks() -> None:
    space = TextSpace(max_length=2, seed=0)
    assert all(len(space.sample()) <= 2 for _ in range(20))
    with pytest.raises(NotImplementedError):
        space.sample(mask=np.ones(3))


def test_equality_and_pickle() -> None:
    space = TextSpace(max_length=7)
    assert pickle.loads(pickle.dumps(space)) == space
    assert space != TextSpace(max_length=8)
    with pytest.raises(ValueError, match="max_length"):
        TextSpace(max_length=-1)
