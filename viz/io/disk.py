"""Disk budgets: a folder of files (the picture cache, Gradio's uploads and results) kept within a size."""

from __future__ import annotations

import time
from pathlib import Path
from stat import S_ISDIR


def prune(folder: Path, max_bytes: float, pattern: str = "**/*", spare_seconds: float = 0.0) -> float:
    """Delete the least recently modified files under `folder` matching `pattern` until they hold at
    most `max_bytes`, sparing those modified in the last `spare_seconds` (they may be in use), and the
    folders that deleting left empty. Files that vanish meanwhile (another pruner) are skipped.
    Returns the bytes left."""
    newest_to_delete = time.time() - spare_seconds
    files = []
    for path in Path(folder).glob(pattern):
        try:
            stat = path.lstat()
        except OSError:
            continue
        if not S_ISDIR(stat.st_mode):
            files.append((stat.st_mtime, stat.st_size, path))
    files.sort(key=lambda item: item[0])
    total = sum(size for _, size, _ in files)
    emptied = set()
    for mtime, size, path in files:
        if total <= max_bytes or mtime > newest_to_delete:
            break
        path.unlink(missing_ok=True)
        total -= size
        emptied.add(path.parent)
    for path in sorted(emptied, key=lambda p: -len(p.parts)):  # deepest first
        if path != Path(folder):
            try:
                path.rmdir()
            except OSError:  # not empty, or gone
                pass
    return total
