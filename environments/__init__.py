"""Environment families of agentgym_seal, installed as ``agentgym_seal.environments``."""

if __name__ != "agentgym_seal.environments":
    raise ImportError(
        f"this folder is installed as 'agentgym_seal.environments', but it was imported as {__name__!r}. "
        "Fix: import agentgym_seal.environments (and run pytest with --import-mode=importlib)."
    )
