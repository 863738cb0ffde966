"""All-or-nothing writes: readers see the old content or the new, never half of it (torch-free).

A folder saved with ``save_atomically(..., manifest=True)`` also holds ``manifest.json``: the relative path, size
and SHA-256 of every other file, so a reader can tell a damaged copy (:func:`manifest_problem`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_text_atomic(path: str | Path, text: str) -> None:
    """Writes ``text`` to ``path`` via a fsynced temp file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; run folders and caches are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Writes ``obj`` as indented JSON with :func:`write_text_atomic`."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True))


def save_atomically(folder: Path, save: Callable[[Path], None], *, manifest: bool = False) -> None:
    """Runs ``save(tmp)`` into a sibling temp folder, then renames it to ``folder`` (all or nothing).

    With ``manifest``, :func:`write_manifest` runs last, before the rename.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        save(tmp)
        if manifest:
            write_manifest(tmp)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


#: The file :func:`write_manifest` adds to a folder.
MANIFEST = "manifest.json"


def _digest(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def write_manifest(folder: Path) -> None:
    """Writes ``folder/manifest.json``: every other file's relative path, size and SHA-256, each file fsynced first."""
    entries = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if relative != MANIFEST:
            with open(path, "rb") as f:
                os.fsync(f.fileno())  # the rename that publishes the folder must not outrun its files' data
            entries.append({"path": relative, "size": path.stat().st_size, "sha256": _digest(path)})
    write_json_atomic(folder / MANIFEST, {"files": entries})


def manifest_problem(folder: Path) -> str | None:
    """What a folder's files disagree with its manifest.json on (sizes first, then hashes), or None when none.

    The answer names the file relative to ``folder``: a missing or unreadable manifest, a listed file that is
    missing, or one whose size or SHA-256 differs. Files the manifest does not list are not looked at.
    """
    entries = _manifest_entries(folder)
    if isinstance(entries, str):
        return entries
    for entry in entries:
        path = folder / entry["path"]
        if not path.is_file():
            return f"{entry['path']} is missing (listed in {MANIFEST})"
        if (size := path.stat().st_size) != entry["size"]:
            return f"{entry['path']} is {size} bytes, {MANIFEST} says {entry['size']} (truncated or overwritten)"
    for entry in entries:
        if _digest(folder / entry["path"]) != entry["sha256"]:
            return f"{entry['path']} does not match its SHA-256 in {MANIFEST} (its content changed)"
    return None


def _manifest_entries(folder: Path) -> list[dict[str, Any]] | str:
    """The entries of ``folder/manifest.json``, or what is wrong with the file."""
    path = folder / MANIFEST
    if not path.is_file():
        return f"{MANIFEST} is missing"
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError, TypeError) as exc:
        return f"{MANIFEST} is unreadable ({type(exc).__name__}: {exc})"
    ok = isinstance(files, list) and all(
        isinstance(e, dict)
        and isinstance(e.get("path"), str)
        and not Path(e["path"]).is_absolute()
        and ".." not in Path(e["path"]).parts
        and type(e.get("size")) is int
        and isinstance(e.get("sha256"), str)
        for e in files
    )
    return files if ok else f"{MANIFEST} does not list files as {{path, size, sha256}} inside the folder"
