"""The process settings the app, the benchmarks and the tests run under: one explicit call, no
side effects at import time."""

from __future__ import annotations

import ctypes
import gc
import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from threadpoolctl import threadpool_limits


def configure_runtime() -> None:
    """Quiet TensorFlow's C++ logs, let its memory go back after a run, cap Pillow's decoder at our pixel
    limit, keep numpy's BLAS to one thread. Before TensorFlow computes anything.

    TensorFlow owns the cores. OpenBLAS threads keep spinning after each of numpy's products, and on
    2 cores they took TensorFlow's time between L-BFGS steps; numpy's products here are small and
    need no threads.
    """
    from PIL import Image

    from .images import MAX_PIXELS

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # oneDNN's own pool keeps every large buffer a run ever needed, for good; the system's allocator
    # hands them back, for a few per cent of speed (benchmarks/fairness.py).
    os.environ.setdefault("TF_ONEDNN_USE_SYSTEM_ALLOCATOR", "1")
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own bomb guard at our limit (warns at 1×, refuses at 2×)
    threadpool_limits(1, user_api="blas")
    few_heaps(int(os.environ.get("VIZ_MALLOC_ARENAS", 2)))


def few_heaps(arenas: int) -> None:
    """At most `arenas` malloc heaps (0: glibc's own choice): glibc gives each busy thread its own, and
    each keeps the pages it freed, so requests at once on different threads added up
    (benchmarks/fairness.py)."""
    mallopt = getattr(c_library(), "mallopt", None)
    if mallopt is not None and arenas > 0:
        mallopt(-8, arenas)  # M_ARENA_MAX


def two_at_a_time(fn, items) -> list:
    """[fn(item) for item in items], two at once: numpy, TensorFlow and zlib let go of the GIL, and a
    free Space has 2 cores."""
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(fn, items))


def release_memory() -> None:
    """Collect a finished run's reference cycles (TensorFlow graphs) and hand glibc's free heap back to
    the system: without it a long-running server's memory crept up by megabytes per run."""
    gc.collect()
    trim_memory()


def settle_memory() -> None:
    """Once a server is up: what exists now (the model, the page, the libraries) lives as long as the
    process, so the collection after each run (release_memory) no longer walks it, only what runs
    made since; that walk cost a third of a second at the end of every run."""
    gc.collect()
    gc.freeze()


def trim_memory() -> None:
    """Hand glibc's free heap back to the system (cheap, unlike the collection of release_memory):
    after every request, so that one large photo does not leave its arrays' pages held."""
    trim = getattr(c_library(), "malloc_trim", None)
    if trim is not None:
        trim(0)


@lru_cache(maxsize=1)
def c_library():
    """The C library of this process (malloc_trim exists in glibc only), or None off POSIX."""
    return ctypes.CDLL(None) if os.name == "posix" else None
