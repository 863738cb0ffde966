"""Import-time contract of ``agentgym_seal``: light imports, env ids, optional dependency errors."""

import subprocess
import sys
from pathlib import Path

import gymnasium
import pytest

import agentgym_seal
from agentgym_seal.deps import require
from agentgym_seal.errors import ConfigError, DependencyNotInstalled

REPO = Path(__file__).resolve().parents[2]


def test_import_does_not_load_heavy_dependencies() -> None:
    code = (
        "import sys, agentgym_seal, gymnasium; "
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'textworld', 'selenium', 'pyserini', 'alfworld', 'vllm')]; "
        "assert not heavy, heavy; assert 'ALFWorldText-v0' in gymnasium.registry"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO.parent)


def test_env_ids_registered_in_both_registries() -> None:
    assert "ALFWorldText-v0" in agentgym_seal.ENVS
    spec = gymnasium.spec("ALFWorldText-v0")
    assert spec.max_episode_steps == 50
    assert spec.entry_point == agentgym_seal.ENVS.get("ALFWorldText-v0").entry_point


def test_unknown_env_id_suggests_close_match() -> None:
    with pytest.raises(KeyError, match="Did you mean 'ALFWorldText-v0'"):
        agentgym_seal.ENVS.get("ALFWorldTxt-v0")


def test_missing_optional_dependency_names_the_pip_extra() -> None:
    with pytest.raises(DependencyNotInstalled, match=r'pip install "agentgym-seal\[webshop\]"'):
        require("surely_not_an_installed_module_xyz", "webshop")


def test_bare_folder_import_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import environments"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "installed as 'agentgym_seal.environments'" in result.stderr


def test_config_error_message_names_option_and_allowed_values() -> None:
    err = ConfigError.bad_option("split", "tran", ["train", "valid_seen"], where="ALFWorldText-v0")
    assert "option 'split' of ALFWorldText-v0" in str(err)
    assert "['train', 'valid_seen']" in str(err) and "Did you mean 'train'?" in str(err)
