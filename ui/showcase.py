"""Something finished on every tab at the first visit: each tab's default example, computed once by
that tab's own handler and kept on disk beside the Microscope's tiles, shown as soon as a page opens.

An idle server computes what is missing in a background process at the lowest CPU priority
(`python -m ui.showcase`, started by `python app.py`), so only a first boot ever computes it;
`python -m ui.showcase --out DIR` precomputes it with the atlas for a Hub dataset.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import gradio as gr
import numpy as np
import pandas as pd

from viz.io import atlas, imagefiles, patches
from viz.model import Backbone
from viz.precision import fast_precision
from viz.runtime import c_library

from . import common
from .common import BUSY

PR_SET_PDEATHSIG = 1  # Linux prctl(2): the signal a child gets when its parent ends
VERSION = "3"  # bump when a change to a handler changes what a stored result would show


@dataclass
class Showcase:
    """A tab's finished example: `run()` gives the values of `outputs` (the tab's own handler, run to
    its end); `shown` are input values displayed beside it (the example photo, its settings)."""

    name: str
    run: Callable[[], tuple]
    outputs: list
    shown: dict = field(default_factory=dict)  # component -> value
    about: tuple = ()  # what else makes the result differ (the example's path, settings)


def key(backbone: Backbone, showcase: Showcase) -> str:
    """Everything that changes a stored result: weights, precision, the example's bytes, settings, code."""
    about = [digest(v) if isinstance(v, str) and os.path.isfile(v) else repr(v) for v in showcase.about]
    fields = [showcase.name, atlas.weights_digest(backbone), fast_precision().name, VERSION, atlas.CODE_VERSION,
              about]
    return showcase.name + "-" + hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:16]


def digest(path: str) -> str:
    """A file by its bytes, not its path: the same example anywhere it is checked out."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


class Store:
    """Finished results on disk, one folder per key: the values as JSON, pictures and files beside."""

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder or atlas.TileCache().folder) / atlas.SHOWCASE_FOLDER
        self.folder.mkdir(parents=True, exist_ok=True)

    def get(self, name: str) -> list | None:
        """The stored values (pictures and files as paths in the store), or None."""
        try:
            values = json.loads((self.folder / name / "values.json").read_text())
        except (OSError, ValueError):
            return None
        return [restored(v, self.folder / name) for v in values]

    def put(self, name: str, values) -> None:
        """Store values atomically: written in a temporary folder, then renamed into place."""
        partial = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=self.folder))
        dumped = [stored(v, partial, f"{k}") for k, v in enumerate(values)]
        (partial / "values.json").write_text(json.dumps(dumped))
        try:
            partial.rename(self.folder / name)
        except OSError:  # another process stored it first
            shutil.rmtree(partial, ignore_errors=True)


def stored(value, folder: Path, name: str):
    """`value` as JSON, its pictures and files written into `folder`."""
    if isinstance(value, np.ndarray):
        return {"png": Path(imagefiles.save_png(value, str(folder / f"{name}.png"))).name}
    if isinstance(value, pd.DataFrame):
        return {"frame": value.to_dict("records")}
    if isinstance(value, str) and os.path.isfile(value):  # under its own name: what a download is called
        target = folder / name / Path(value).name
        target.parent.mkdir()
        shutil.copyfile(value, target)
        return {"file": str(target.relative_to(folder))}
    if isinstance(value, (list, tuple)):
        return {"list": [stored(v, folder, f"{name}-{k}") for k, v in enumerate(value)]}
    return {"json": value}


def restored(value: dict, folder: Path):
    """The value `stored` wrote, with its pictures and files as paths."""
    kind, content = next(iter(value.items()))
    if kind in ("png", "file"):
        return str(folder / content)
    if kind == "frame":
        return pd.DataFrame(content)
    if kind == "list":
        return [restored(v, folder) for v in content]
    return content


def final(run: Callable) -> tuple[object, str]:
    """A handler's last values and how it ended: its return ("done"), or a stream's last yield and its
    own return ("done" or "time limit")."""
    result = run()
    if not hasattr(result, "__next__"):
        return result, "done"
    last = None
    while True:
        try:
            last = next(result)
        except StopIteration as stop:
            return last, stop.value or "done"


def wire_showcases(demo: gr.Blocks, backbone: Backbone, showcases: list[Showcase], store: Store) -> None:
    """At every page load, fill each tab with its stored result (as it is: nothing is computed here)."""
    components = [c for s in showcases for c in [*s.shown, *s.outputs]]
    keys = [key(backbone, showcase) for showcase in showcases]  # fixed for the process: not hashed at every load

    def show():
        values = []
        for showcase, name in zip(showcases, keys):
            found = store.get(name)
            values += list(showcase.shown.values()) if found else [gr.skip()] * len(showcase.shown)
            values += found if found else [gr.skip()] * len(showcase.outputs)
        return values

    demo.load(show, None, components, api_visibility="private", queue=False)


def missing(backbone: Backbone, showcases: list[Showcase], store: Store) -> list[Showcase]:
    return [s for s in showcases if store.get(key(backbone, s)) is None]


def incomplete(backbone: Backbone, showcases: list[Showcase], store: Store) -> bool:
    """Whether a first visit lacks anything: a tab's example, or the unit pages' scanned patches."""
    return bool(missing(backbone, showcases, store)) or not patches.scanned(backbone, store.folder.parent)


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
    """Start `python -m ui.showcase` at the lowest CPU priority, paused whenever a visitor's run is in
    progress (a niced process still takes the gaps between a run's steps, and shares the caches)."""
    command = [sys.executable, "-m", "ui.showcase"] + (["--weights", weights] if weights else [])
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
    from app import build_parts
    from viz.io.weights import load_backbone, resolve_source
    from viz.runtime import configure_runtime

    configure_runtime()
    common.TIME_LIMIT = 0  # no visitor waits for these: every run goes to its end
    if args.out:
        os.environ[atlas.CACHE_ENV] = args.out
    backbone = load_backbone(resolve_source(args.weights))
    _, showcases = build_parts(backbone)
    fill(backbone, showcases, Store(), progress=lambda line: print(line, flush=True))
    cache_folder = atlas.TileCache().folder
    if not patches.scanned(backbone, cache_folder):  # the unit pages' top patches
        photos = patches.default_photos()
        print(f"showcase: scanning {len(photos)} photos for each channel's strongest patches", flush=True)
        patches.scan_and_save(backbone, photos, cache_folder, progress=lambda line: None)


if __name__ == "__main__":
    main()
