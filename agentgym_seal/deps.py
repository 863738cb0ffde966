"""Import optional dependencies with an error that names the pip extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from agentgym_seal.errors import DependencyNotInstalled


def require(module: str, extra: str) -> ModuleType:
    """Imports ``module`` or raises :class:`DependencyNotInstalled` naming ``extra``.

    Args:
        module: The dotted module name, e.g. ``"textworld"``.
        extra: The ``agentgym-seal`` extra that installs it, e.g. ``"alfworld"``.

    Returns:
        The imported module.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        if exc.name is not None and exc.name.split(".")[0] != top:
            raise  # the module exists but one of *its* imports is broken: show the real cause
        raise DependencyNotInstalled(extra, top) from exc
