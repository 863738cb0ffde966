"""``metrics.jsonl``: one JSON object per line, each written whole; atomic JSON files."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from agentgym_seal.atomic import write_json_atomic, write_text_atomic

__all__ = ["JsonlWriter", "read_jsonl", "read_rows", "write_json_atomic"]


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


def read_rows(path: str | Path, *, int_key: str | None = None) -> tuple[list[dict[str, Any]], bool]:
    """Every row of a JSONL file, and whether a torn last line (no newline, not JSON: a crash mid-write) was left out.

    Raises :class:`ValueError` naming the line of any other line that is not a JSON object (blank lines are
    skipped), or whose ``int_key`` is not an int.
    """
    *lines, tail = Path(path).read_bytes().split(b"\n")  # tail: b"" when the file ends with a newline
    rows: list[dict[str, Any]] = []
    for number, line in enumerate([*lines, tail], 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            if number == len(lines) + 1:  # the unfinished last line: a crash while it was being written
                return rows, True
            raise ValueError(f"line {number} is not valid JSON") from None
        if not isinstance(row, dict):
            raise ValueError(f"line {number} holds a {type(row).__name__}, not a JSON object")
        if int_key is not None and type(row.get(int_key)) is not int:
            raise ValueError(f"line {number} has {int_key} {row.get(int_key)!r}, not an int")
        rows.append(row)
    return rows, False


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
        """Drops rows with ``step > step`` and a torn last line (a resume from that step's checkpoint), atomically.

        ``keep_until(0)`` empties the file (a new run). Otherwise any other bad line raises :class:`ValueError`
        (see :func:`read_rows`) and the file is left as it is: rewriting it would lose that line.
        """
        rows = read_rows(self.path, int_key="step")[0] if step > 0 and self.path.exists() else []
        kept = [r for r in rows if r["step"] <= step]
        write_text_atomic(self.path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))
