import re
import sys

import pytest

from agentgym_seal.errors import AgentGymError, DuplicateNameError, UnknownNameError
from agentgym_seal.registry import Registry, load_entry_point


def test_register_get_and_decorator() -> None:
    reg: Registry[object] = Registry("estimator")
    reg.register("one", 1)

    @reg.register("fn")
    def fn() -> int:
        return 2

    assert reg.get("one") == 1
    assert reg.get("fn") is fn
    assert reg.names() == ["fn", "one"] and "fn" in reg and len(reg) == 2


def test_duplicate_rejected_and_unregister_allows_replacement() -> None:
    reg: Registry[int] = Registry("loss")
    reg.register("ppo", 1)
    with pytest.raises(DuplicateNameError, match=re.escape("loss 'ppo' is already registered")):
        reg.register("ppo", 2)
    reg.unregister("ppo")
    reg.register("ppo", 2)
    assert reg.get("ppo") == 2


def test_unknown_name_lists_available_and_suggests() -> None:
    reg: Registry[int] = Registry("advantage estimator")
    reg.register("grpo", 1)
    reg.register("gigpo", 2)
    with pytest.raises(UnknownNameError) as err:
        reg.get("grp")
    message = str(err.value)
    assert "Available: gigpo, grpo" in message and "Did you mean 'grpo'?" in message
    assert isinstance(err.value, KeyError)


def test_lazy_entry_imports_only_on_get() -> None:
    reg: Registry[object] = Registry("thing")
    reg.register("dumps", "json:dumps")
    reg.register("nested", "os.path:join")
    assert reg.get("dumps")({"a": 1}) == '{"a": 1}'
    assert reg.get("nested") is sys.modules["os"].path.join


def test_bad_entry_point_string() -> None:
    with pytest.raises(AgentGymError, match=re.escape("package.module:attr")):
        load_entry_point("json.dumps")
