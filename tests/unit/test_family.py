"""Env families own their training knowledge: one definition of the turn limit and of λ per family."""

import ast
from pathlib import Path

import gymnasium
import pytest

from agentgym_seal.errors import ConfigError, DuplicateNameError
from agentgym_seal.family import FAMILIES, FamilySpec
from agentgym_seal.registration import ENVS, family_of, register_family

REPO = Path(__file__).resolve().parents[2]
LAMBDA = {"alfworld": 0.1, "webshop": 0.1, "searchqa": 0.01}
#: Names whose default is the family's; the pure estimators keep SPEC's reference λ for direct calls.
FAMILY_OWNED = {"invalid_penalty", "invalid_format_penalty", "max_turns", "max_episode_steps", "train_max_turns"}
PURE_ESTIMATORS = REPO / "backends" / "advantages.py"


def test_every_env_id_has_a_family_and_is_registered_with_its_turn_limit() -> None:
    assert set(FAMILIES.names()) == set(LAMBDA)
    for env_id in ENVS.names():
        family = family_of(env_id)
        assert gymnasium.spec(env_id).max_episode_steps == family.max_turns == ENVS.get(env_id).max_episode_steps
        assert family.invalid_penalty == LAMBDA[family.name]
        assert family.prompt_template.expert_response  # the template loads


@pytest.mark.parametrize(
    ("module", "config"),
    [("alfworld.env", "ALFWorldConfig"), ("webshop.env", "WebShopConfig"), ("searchqa.env", "SearchQAConfig")],
)
def test_each_envs_own_penalty_is_its_familys(module: str, config: str) -> None:
    import importlib

    cls = getattr(importlib.import_module(f"agentgym_seal.environments.{module}"), config)
    assert cls().invalid_format_penalty == FAMILIES.get(module.split(".")[0]).invalid_penalty


def _numeric_defaults(path: Path) -> list[str]:
    """``file:line name=value`` for each family-owned name given a numeric default in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        pairs: list[tuple[str, ast.expr | None]] = []
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            pairs.append((node.target.id, node.value))
        elif isinstance(node, ast.FunctionDef):
            args = node.args
            positional = args.posonlyargs + args.args
            with_default = positional[len(positional) - len(args.defaults) :]
            pairs += zip([a.arg for a in with_default], args.defaults, strict=True)
            pairs += [(a.arg, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
        for name, value in pairs:
            numeric = isinstance(value, ast.Constant) and type(value.value) in (int, float)
            if name in FAMILY_OWNED and numeric:
                found.append(f"{path.relative_to(REPO)}:{value.lineno} {name}={value.value}")  # type: ignore[union-attr]
    return found


def test_the_turn_limit_and_lambda_have_no_second_default() -> None:
    files = [p for top in ("agentgym_seal", "backends", "environments") for p in (REPO / top).rglob("*.py")]
    found = [hit for path in files if path != PURE_ESTIMATORS for hit in _numeric_defaults(path)]
    assert not found, f"a second default of a family-owned value: {found}"
    assert _numeric_defaults(PURE_ESTIMATORS)  # the check sees a default where there is one


def test_a_family_from_user_code_registers_its_env_ids() -> None:
    from agentgym_seal.registration import EnvEntry

    family = FamilySpec(name="tmp-family", prompts="agentgym_seal.environments.alfworld.prompts:ALFWORLD_PROMPTS",
                        max_turns=7, invalid_penalty=0.05)  # fmt: skip
    entry = EnvEntry(env_id="TmpFamily-v0", entry_point="agentgym_seal.environments.alfworld.env:ALFWorldTextEnv",
                     max_episode_steps=family.max_turns, extra="alfworld", family=family.name)  # fmt: skip
    try:
        register_family(family, [entry])
        assert family_of("TmpFamily-v0") is family and gymnasium.spec("TmpFamily-v0").max_episode_steps == 7
        with pytest.raises(DuplicateNameError):
            register_family(family, [])
    finally:
        FAMILIES.unregister("tmp-family")
        ENVS.unregister("TmpFamily-v0")
        gymnasium.registry.pop("TmpFamily-v0", None)
    wrong = EnvEntry(env_id="Tmp2-v0", entry_point="x:y", max_episode_steps=1, extra="", family="other")
    with pytest.raises(ConfigError, match="names family 'other'"):
        register_family(FamilySpec(name="tmp2", prompts="x:y", max_turns=1, invalid_penalty=0.0), [wrong])
    FAMILIES.unregister("tmp2")


def test_a_family_rejects_impossible_limits() -> None:
    with pytest.raises(ConfigError, match="turn limits"):
        FamilySpec(name="bad", prompts="x:y", max_turns=0, invalid_penalty=0.1)
    with pytest.raises(ConfigError, match="invalid_penalty"):
        FamilySpec(name="bad", prompts="x:y", max_turns=1, invalid_penalty=-1.0)
