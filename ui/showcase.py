"""Something finished on every tab at the first visit: each tab's default example, computed once by
that tab's own handler and kept on disk beside the Microscope's tiles, shown as soon as a page opens.
What is missing is computed in the background (`ui.fill`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import gradio as gr
import numpy as np
import pandas as pd

from viz.io import cache, imagefiles, patches
from viz.model import Backbone
from viz.precision import fast_precision

VERSION = "4"  # bump when a change to a handler changes what a stored result would show


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
    fields = [showcase.name, cache.weights_digest(backbone), fast_precision().name, VERSION, cache.CODE_VERSION,
              about]
    return showcase.name + "-" + hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:16]


def digest(path: str) -> str:
    """A file by its bytes, not its path: the same example anywhere it is checked out."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


class Store:
    """Finished results on disk, one folder per key: the values as JSON, pictures and files beside."""

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = cache.cache_root(folder) / cache.SHOWCASE_FOLDER
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


def example_of(name: str, handler: Callable[[dict], object], form: dict, outputs: list, photos: dict,
               show_photos: bool = True, settings: tuple = ()) -> Showcase:
    """A tab's example: `handler` (which takes the form's values by name) with every widget of `form`
    at the value it opens with, and the `photos` given by name (shown beside the result, unless
    another example of the same tab shows them); `settings` are what else its result is made with."""
    values = {n: component.value for n, component in form.items()} | photos
    shown = {form[n]: photo for n, photo in photos.items()} if show_photos else {}
    return Showcase(name, lambda: handler(values), outputs, shown, (*(values[n] for n in form), *settings))


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
