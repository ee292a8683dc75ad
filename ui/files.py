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
GIF_SIDE = 384  # px: a run's GIF stays light (to keep and to encode) whatever the output size


class DiskBudget:
    """What Gradio's folder holds against its limit: as the janitor last counted it, plus the uploads
    finished since, plus those under way (each reserved whole before it is read, so a burst of them
    cannot pass the limit)."""

    def __init__(self, limit_bytes: float):
        self.limit, self.lock = limit_bytes, threading.Lock()
        self.on_disk = self.since = self.pending = 0.0

    @property
    def held(self) -> float:
        return self.on_disk + self.since + self.pending

    def reserve(self, size: int) -> bool:
        """Whether an upload of `size` bytes fits; if it does, it is counted as under way."""
        with self.lock:
            if self.held + size > self.limit:
                return False
            self.pending += size
            return True

    def finished(self, size: int) -> None:
        """An upload reserved before is on the disk now (until the janitor's next count says so)."""
        with self.lock:
            self.pending -= size
            self.since += size

    def counted(self, total: float) -> None:
        """The janitor's count of the folder (what it holds, uploads finished before included)."""
        with self.lock:
            self.on_disk, self.since = total, 0.0


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


def pictures_written_once() -> None:
    """Gradio names each picture it sends by the hash of its bytes but rewrites the file every time the
    picture is sent again (a stream re-sends its unchanged pictures), so a browser still reading it
    gets a truncated file (a broken image, "Content-Length mismatch"). Here a picture already there is
    left alone (only marked fresh, so the janitor spares it while it is sent), and a new one appears
    whole (written aside, then renamed)."""
    from gradio import processing_utils

    def save(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
        data = processing_utils.encode_pil_to_bytes(img, format)
        folder = Path(cache_dir) / processing_utils.hash_bytes(data)
        target = (folder / f"{name}.{format}").resolve()
        try:
            os.utime(target)
        except FileNotFoundError:
            folder.mkdir(exist_ok=True, parents=True)
            with tempfile.NamedTemporaryFile(dir=folder, delete=False) as part:
                part.write(data)
            os.replace(part.name, target)
        return str(target)

    processing_utils.save_pil_to_cache = save
