"""The first visit's results computed in the background: each tab's missing example (its own handler,
to its end), the unit pages' scanned patches, then the whole atlas (the tiles visitors were shown
missing first, then layer by layer: `viz.atlas.fill_atlas`), by a process at the lowest CPU priority
that pauses while a visitor's run is in progress (`python -m ui.fill`, started by `python app.py`);
all of it resumable, so a restarted server goes on where it stopped; `python -m ui.fill --out DIR`
precomputes them for a Hub dataset.
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable

from viz import atlas
from viz.io import cache, patches
from viz.model import Backbone
from viz.runtime import c_library

from .runs import BUSY
from .showcase import Showcase, Store, key, missing
from .streaming import drained

PR_SET_PDEATHSIG = 1  # Linux prctl(2): the signal a child gets when its parent ends


def final(run: Callable) -> tuple[object, str]:
    """A handler's last values and how it ended: its return ("done"), or a stream's last yield and its
    own return ("done" or "time limit")."""
    result = run()
    if not hasattr(result, "__next__"):
        return result, "done"
    last, ending = drained(result)
    return last, ending or "done"


def fill(backbone: Backbone, showcases: list[Showcase], store: Store, progress=print) -> None:
    """Compute and store every missing result (each tab's own handler, to its end)."""
    for showcase in missing(backbone, showcases, store):
        progress(f"showcase: computing {showcase.name}")
        values, ending = final(showcase.run)
        if ending == "done":
            store.put(key(backbone, showcase), values)
        else:  # an unfinished picture is never shown as the tab's example
            progress(f"showcase: {showcase.name} ended by {ending}, not kept")


def fill_in_background(weights: str | None) -> subprocess.Popen:
    """Start `python -m ui.fill` at the lowest CPU priority, paused whenever a visitor's run is in
    progress (a niced process still takes the gaps between a run's steps, and shares the caches)."""
    command = [sys.executable, "-m", "ui.fill"] + (["--weights", weights] if weights else [])
    process = subprocess.Popen(command, cwd=Path(__file__).resolve().parent.parent, preexec_fn=lowest_priority)
    BUSY.listeners.append(functools.partial(pause, process))
    return process


def lowest_priority() -> None:
    """In the child before it runs: the lowest CPU priority, and (on Linux) ended with the server that
    started it, so that a stopped server leaves nothing computing behind."""
    if hasattr(os, "nice"):
        os.nice(19)
    prctl = getattr(c_library(), "prctl", None)
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))  # SIGKILL: it also ends a paused (stopped) child


def pause(process: subprocess.Popen, busy: bool) -> None:
    """Stop `process` while the server is busy, continue it when idle (where the system has signals)."""
    if process.poll() is None and hasattr(signal, "SIGSTOP"):
        process.send_signal(signal.SIGSTOP if busy else signal.SIGCONT)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Compute the first visit's missing results.")
    parser.add_argument("--weights", default=None, help="imagenet, hed or a weights file (default $VIZ_WEIGHTS)")
    parser.add_argument("--out", default=None, help="the cache folder (default $VIZ_ATLAS_DIR)")
    args = parser.parse_args(argv)
    from viz.io.weights import load_backbone, resolve_source
    from viz.runtime import configure_runtime

    from .page import build_page

    configure_runtime()
    if args.out:
        os.environ[cache.CACHE_ENV] = args.out
    backbone = load_backbone(resolve_source(args.weights))
    _, showcases = build_page(backbone, time_limit=0)  # no visitor waits for these: every run goes to its end
    fill(backbone, showcases, Store(), progress=lambda line: print(line, flush=True))
    cache_folder = cache.cache_root()
    if not patches.scanned(backbone, cache_folder):  # the unit pages' top patches
        photos = patches.default_photos()
        print(f"showcase: scanning {len(photos)} photos for each channel's strongest patches", flush=True)
        patches.scan_and_save(backbone, photos, cache_folder, progress=lambda line: None)
    atlas.fill_atlas(backbone, cache.TileCache(), progress=lambda line: print(line, flush=True))


if __name__ == "__main__":
    main()
