"""The process settings the app, the benchmarks and the tests run under: one explicit call, no
side effects at import time."""

from __future__ import annotations

import ctypes
import gc
import os
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

from threadpoolctl import threadpool_limits


def configure_runtime() -> None:
    """Quiet TensorFlow's C++ logs, cap Pillow's decoder at our pixel limit, keep numpy's BLAS to one thread.

    TensorFlow owns the cores. OpenBLAS threads keep spinning after each of numpy's products, and on
    2 cores that took a third of TensorFlow's time between L-BFGS steps (measured: 90 steps at 96 px,
    7.7 s with BLAS threads, 5.2 s without); numpy's products here are small and need no threads.
    """
    from PIL import Image

    from .images import MAX_PIXELS

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own bomb guard at our limit (warns at 1×, refuses at 2×)
    threadpool_limits(1, user_api="blas")


def two_at_a_time(fn, items) -> list:
    """[fn(item) for item in items], two at once: numpy, TensorFlow and zlib let go of the GIL, and a
    free Space has 2 cores."""
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(fn, items))


def release_memory() -> None:
    """Collect a finished run's reference cycles (TensorFlow graphs) and hand glibc's free heap back to
    the system: without it a long-running server's memory crept up by megabytes per run."""
    gc.collect()
    trim = getattr(c_library(), "malloc_trim", None)
    if trim is not None:
        trim(0)


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


@lru_cache(maxsize=1)
def c_library():
    """The C library of this process (malloc_trim exists in glibc only), or None off POSIX."""
    return ctypes.CDLL(None) if os.name == "posix" else None
