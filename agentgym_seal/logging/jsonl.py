"""``metrics.jsonl``: one JSON object per line, each written whole; atomic JSON files."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from agentgym_seal.atomic import write_json_atomic, write_text_atomic

__all__ = ["JsonlWriter", "read_jsonl", "write_json_atomic"]


def _clean(value: Any) -> Any:
    """NaN/inf are not JSON: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Reads every complete line of a JSONL file (a torn last line, from a crash, is ignored)."""
    rows: list[dict[str, Any]] = []
    path = Path(path)
    if not path.exists():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


class JsonlWriter:
    """Appends metric rows to a JSONL file, one ``write`` + ``fsync`` per row."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, row: dict[str, Any]) -> None:
        """Appends ``row`` as one line."""
        line = json.dumps({k: _clean(v) for k, v in row.items()}, sort_keys=True) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def keep_until(self, step: int) -> None:
        """Drops rows with ``step > step`` (after a resume from that step's checkpoint), atomically."""
        rows = [r for r in read_jsonl(self.path) if int(r.get("step", -1)) <= step]
        write_text_atomic(self.path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
