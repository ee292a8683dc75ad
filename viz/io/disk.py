"""Disk budgets: a folder of files (the picture cache, Gradio's uploads and results) kept within a size."""

from __future__ import annotations

import time
from pathlib import Path


def prune(folder: Path, max_bytes: float, pattern: str = "**/*", spare_seconds: float = 0.0) -> float:
    """Delete the least recently modified files under `folder` matching `pattern` until they hold at
    most `max_bytes`, sparing those modified in the last `spare_seconds` (they may be in use), then
    empty folders older than that. Files that vanish meanwhile (another pruner) are skipped. Returns
    the bytes left."""
    newest_to_delete = time.time() - spare_seconds
    files, folders = [], []
    for path in Path(folder).glob(pattern):
        try:
            stat = path.stat()
        except OSError:
            continue
        (files if path.is_file() else folders).append((stat.st_mtime, stat.st_size, path))
    files.sort(key=lambda item: item[0])
    total = sum(size for _, size, _ in files)
    for mtime, size, path in files:
        if total <= max_bytes or mtime > newest_to_delete:
            break
        path.unlink(missing_ok=True)
        total -= size
    for mtime, _, path in sorted(folders, key=lambda item: -len(item[2].parts)):  # deepest first
        if mtime <= newest_to_delete:
            try:
                path.rmdir()
            except OSError:  # not empty, or gone
                pass
    return total
