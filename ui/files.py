"""What the app writes into Gradio's cache folder (a run's result files), and the janitor that keeps
that folder within its size."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from gradio.utils import get_upload_folder

from viz.io import imagefiles
from viz.io.disk import prune
from viz.runtime import two_at_a_time

# The most Gradio's cache folder (uploads, every picture sent, downloads) may hold; the oldest files go
# first, checked every JANITOR_SECONDS, sparing the files of the last FRESH_SECONDS (being sent).
DISK_LIMIT_MB = float(os.environ.get("VIZ_DISK_MB", 1000))
JANITOR_SECONDS, FRESH_SECONDS = 30.0, 20.0


class DiskBudget:
    """What Gradio's folder holds against its limit: as the janitor last counted it, plus the uploads
    admitted since (each reserved whole before it is read, so a burst cannot pass the limit)."""

    def __init__(self, limit_bytes: float):
        self.limit, self.held, self.lock = limit_bytes, 0.0, threading.Lock()

    def reserve(self, size: int) -> bool:
        """Whether `size` more bytes fit; if they do, they are counted as held."""
        with self.lock:
            if self.held + size > self.limit:
                return False
            self.held += size
            return True

    def counted(self, total: float) -> None:
        with self.lock:
            self.held = total


DISK = DiskBudget(DISK_LIMIT_MB * 2 ** 20)


def keep_cache_small(folder: str | None = None, limit_mb: float = DISK_LIMIT_MB, every: float = JANITOR_SECONDS,
                     spare_seconds: float = FRESH_SECONDS) -> threading.Thread:
    """Start a thread that keeps Gradio's cache folder within `limit_mb`, every `every` seconds: what
    one client can make the process hold on disk is bounded, however long it loops."""
    def janitor():
        while True:
            DISK.counted(prune(Path(folder or get_upload_folder()), limit_mb * 2 ** 20, spare_seconds=spare_seconds))
            time.sleep(every)

    thread = threading.Thread(target=janitor, name="cache-janitor", daemon=True)
    thread.start()
    return thread


def save_files(pngs: dict[str, np.ndarray], frames: list[np.ndarray] = (), gif: str | None = None,
               fast: bool = False) -> list[str]:
    """Write a run's results (and its frames as `gif`.gif) into a new folder in Gradio's cache, so
    they exist when yielded; Gradio serves them from there and its delete_cache removes them.
    `fast` PNGs trade a few more bytes for faster writing (imagefiles.save_png)."""
    os.makedirs(get_upload_folder(), exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="run-", dir=get_upload_folder()))
    files = two_at_a_time(lambda item: imagefiles.save_png(item[1], str(folder / f"{item[0]}.png"), fast), pngs.items())
    if gif and frames:
        files.append(imagefiles.save_animation(frames, str(folder / f"{gif}.gif")))
    return files
