"""``python -m agentgym_seal``: the same command line as ``agentgym-seal``."""

from __future__ import annotations

from agentgym_seal.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
