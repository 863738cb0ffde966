"""The wheel installs exactly one import name and works from outside the repository."""

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
        check=True,
        cwd=out,
    )
    (path,) = out.glob("agentgym_seal-*.whl")
    return path


def test_wheel_has_one_top_level_name_and_the_mapped_folders(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top_level = next(n for n in names if n.endswith("top_level.txt"))
    assert zipfile.ZipFile(wheel).read(top_level).decode().split() == ["agentgym_seal"]
    roots = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert roots == {"agentgym_seal"}
    for expected in (
        "agentgym_seal/py.typed",
        "agentgym_seal/environments/__init__.py",
        "agentgym_seal/environments/alfworld/env.py",
        "agentgym_seal/backends/__init__.py",
        "agentgym_seal/tool_schemas/alfworld.json",
        "agentgym_seal/testing/env_checks.py",
    ):
        assert expected in names, expected
    assert not [n for n in names if n.startswith(("tests/", "examples/"))]


@pytest.mark.slow
def test_installed_wheel_makes_an_env_from_outside_the_repo(wheel: Path, tmp_path: Path) -> None:
    """Install into a fresh venv (dependencies borrowed from this one, not the editable install)."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)], check=True
    )
    # A path added by a .pth line does not get its own .pth files run, so the editable finder stays off.
    (site / "zz_borrowed_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    code = (
        "import agentgym_seal, gymnasium as gym, pathlib;"
        f"assert pathlib.Path(agentgym_seal.__file__).is_relative_to({str(site)!r}), agentgym_seal.__file__;"
        "env = gym.make('ALFWorldText-v0', difficulty='tiny', action_format='plain');"
        "obs, info = env.reset(seed=0);"
        "[env.step(c) for c in env.unwrapped.expert_plan()];"
        "print(env.unwrapped._state.won)"
    )
    result = subprocess.run(
        [str(python), "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "AGENTGYM_SEAL_CACHE": str(tmp_path / "cache"), "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
