"""Learner backends of agentgym_seal, installed as ``agentgym_seal.backends``."""

if __name__ != "agentgym_seal.backends":
    raise ImportError(
        f"this folder is installed as 'agentgym_seal.backends', but it was imported as {__name__!r}. "
        "Fix: import agentgym_seal.backends (and run pytest with --import-mode=importlib)."
    )
