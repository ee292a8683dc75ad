"""The Microscope's pictures kept on disk: every channel's feature visualization, and a page per unit.

An atlas page is PER_PAGE channels of one layer, each a Lucid-preset visualization (TILE settings),
computed in batches on demand and kept on disk under a key of everything that changes the picture
(the weights' digest, layer, channel, settings, CODE_VERSION), so a second visit shows them at once.
A unit page (`layer:channel`) adds the unit large at two seeds, its activation map over a photo, the
example photos' patches where it fires most (their receptive field) and a DeepDream "caricature".
Precompute whole layers with `python -m viz.io.atlas --layers block5_conv3 --out DIR` (resumable).
The pictures themselves are made in `viz.microscope`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import threading
import time
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from PIL import Image

from .. import images
from . import imagefiles
from ..errors import check_range
from ..microscope import (CARICATURE, EXTRAS, PHOTO_SIDE, TILE, UNIT, TileSettings, activation_map, parse_unit, render,
                          top_patches)
from ..model import Backbone, check_conv_layer, units
from .disk import prune
from ..targets import parse_target
from ..visualize import diverse, negative, visualize

CODE_VERSION = "1"  # bump when a change to the visualization code changes its pictures
# Tiles are computed a batch at a time (one compiled step for the batch); the first batch is half as
# large, so a page's first tiles show sooner (benchmarks/atlas.py).
PER_PAGE, BATCH, FIRST_BATCH = 64, 8, 4
PART_SECONDS = 600  # a picture still being written after this long belongs to a writer that died
CACHE_ENV, CACHE_LIMIT_ENV, REPO_ENV = "VIZ_ATLAS_DIR", "VIZ_ATLAS_MAX_MB", "VIZ_ATLAS_REPO"
DEFAULT_CACHE = Path.home() / ".cache" / "vgg16-atlas"
SHOWCASE_FOLDER = "showcase"  # the first visit's finished results (ui/showcase.py), shared with the tiles
PATCHES_FOLDER = "patches"  # each channel's strongest patches over a folder of photos (viz/io/patches.py)


# ---------------------------------------------------------------- the cache


@lru_cache(maxsize=4)
def weights_digest(backbone: Backbone) -> str:
    """A digest of every weight of the network: pictures made with other weights never match."""
    digest = hashlib.sha256()
    for layer in backbone.layers:
        for value in layer.get_weights():
            digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()[:16]


def tile_key(backbone: Backbone, layer: str, channel: int, settings: TileSettings) -> str:
    """The cache key of one picture: everything that changes it."""
    fields = {"weights": weights_digest(backbone), "layer": layer, "channel": int(channel),
              "settings": asdict(settings), "code": CODE_VERSION}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:20]


class TileCache:
    """PNG files on disk, one per key, least recently used evicted past `max_mb`. Writes are atomic
    (a temporary file renamed), and a file that does not decode is deleted and computed again."""

    def __init__(self, folder: str | os.PathLike | None = None, max_mb: float | None = None):
        self.folder = Path(folder or os.environ.get(CACHE_ENV) or DEFAULT_CACHE)
        self.max_bytes = float(max_mb if max_mb is not None else os.environ.get(CACHE_LIMIT_ENV, 2000)) * 2 ** 20
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.png"

    def get(self, key: str) -> np.ndarray | None:
        """The cached picture, or None (absent, partial or corrupt: then removed)."""
        path = self.path(key)
        try:
            with Image.open(path) as im:
                picture = np.asarray(im.convert("RGB"))
        except FileNotFoundError:
            return None
        except (OSError, SyntaxError, ValueError):
            path.unlink(missing_ok=True)
            return None
        try:
            os.utime(path)  # recently used
        except OSError:  # evicted by another thread since: the picture is still good
            pass
        return picture

    def put(self, key: str, picture: np.ndarray) -> None:
        self.put_all({key: picture})

    def put_all(self, pictures: dict[str, np.ndarray]) -> None:
        """Write pictures by key, then evict once (a scan of the whole cache per picture would make
        filling a layer quadratic)."""
        for key, picture in pictures.items():
            path = self.path(key)
            path.parent.mkdir(exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
            imagefiles.save_png(picture, str(partial))
            os.replace(partial, path)
        self.evict()

    def evict(self) -> None:
        """Delete the least recently used pictures until the cache fits its limit, and the partial
        files of writers that died (older than PART_SECONDS)."""
        prune(self.folder, self.max_bytes, "*/*.png")
        prune(self.folder, 0, "*/*.part", spare_seconds=PART_SECONDS)


# ---------------------------------------------------------------- computing tiles, each once

_claims: dict[str, threading.Event] = {}
_claims_lock = threading.Lock()


def claim(keys: list[str]) -> tuple[list[str], list[threading.Event]]:
    """The keys this caller must compute, and the events of those another caller is computing."""
    mine, theirs = [], []
    with _claims_lock:
        for key in keys:
            if key in _claims:
                theirs.append(_claims[key])
            else:
                _claims[key] = threading.Event()
                mine.append(key)
    return mine, theirs


def release(keys: list[str]) -> None:
    with _claims_lock:
        for key in keys:
            _claims.pop(key).set()


def tiles(backbone: Backbone, layer: str, channels, cache: TileCache, settings: TileSettings = TILE
          ) -> Iterator[dict[int, np.ndarray]]:
    """The pictures of `channels`: first those in the cache, then each batch as it is computed
    (yields the pictures known so far, channel -> uint8 image)."""
    keys = {c: tile_key(backbone, layer, c, settings) for c in channels}
    known = {c: p for c, p in ((c, cache.get(k)) for c, k in keys.items()) if p is not None}
    yield dict(known)
    for batch in batches([c for c in channels if c not in known]):
        known.update(computed_once(backbone, layer, {c: keys[c] for c in batch}, cache, settings))
        yield dict(known)


def computed_once(backbone: Backbone, layer: str, keys: dict[int, str], cache: TileCache,
                  settings: TileSettings) -> dict[int, np.ndarray]:
    """The pictures of channels (by their keys), each computed once however many callers ask: those
    another caller is computing are waited for and read from the cache; any it failed to make
    are computed here after all."""
    mine, theirs = claim(list(keys.values()))
    try:
        todo = [c for c, key in keys.items() if key in mine]
        made = dict(zip(todo, render(backbone, layer, todo, settings))) if todo else {}
        cache.put_all({keys[c]: picture for c, picture in made.items()})
    finally:
        release(mine)
    for event in theirs:
        event.wait(600)
    made.update({c: p for c, key in keys.items() if c not in made and (p := cache.get(key)) is not None})
    failed = [c for c in keys if c not in made]
    if failed:
        made.update(zip(failed, render(backbone, layer, failed, settings)))
        cache.put_all({keys[c]: made[c] for c in failed})
    return made


def batches(items: list) -> Iterator[list]:
    """`items` a batch at a time: FIRST_BATCH first (the first tiles show sooner), then BATCH each."""
    edges = [0] + list(range(FIRST_BATCH, len(items), BATCH)) + [len(items)]
    for start, end in zip(edges, edges[1:]):
        if end > start:
            yield items[start:end]


# ---------------------------------------------------------------- the atlas


@dataclass
class AtlasPage:
    """One streamed state of an atlas page."""

    layer: str
    page: int
    pages: int
    channels: list[int]
    pictures: dict[int, np.ndarray]  # the channels known so far
    seconds: float


def atlas_page(backbone: Backbone, layer: str, page: int = 0, cache: TileCache | None = None,
               settings: TileSettings = TILE) -> Iterator[AtlasPage]:
    """Page `page` (from 0) of `layer`'s atlas, streamed: the cached tiles at once, then each batch."""
    check_conv_layer(backbone, layer, "The atlas shows")
    count = units(backbone, layer)
    pages = -(-count // PER_PAGE)
    page = check_range("Page", page, 0, pages - 1)
    channels = list(range(page * PER_PAGE, min(count, (page + 1) * PER_PAGE)))
    begin = time.perf_counter()
    for known in tiles(backbone, layer, channels, cache or TileCache(), settings):
        yield AtlasPage(layer, page, pages, channels, known, time.perf_counter() - begin)


# ---------------------------------------------------------------- a unit's page


@dataclass
class UnitPage:
    """What the microscope shows of one channel."""

    unit: str
    layer: str
    channel: int
    pictures: list[tuple[np.ndarray, str]]  # (image, caption), in the order shown
    figures: dict[str, float]
    link: str


def unit_page(backbone: Backbone, unit: str, photo: np.ndarray | None, examples: dict[str, np.ndarray],
              cache: TileCache | None = None, patches: int = 6,
              dataset: Callable[[str, int], list] | None = None) -> Iterator[UnitPage]:
    """The unit's page, streamed as its parts are ready: the photo's activation map and the top
    patches first (forward passes), then the visualizations (cached), the caricature, then four
    diverse pictures and the negative (cached). The top
    patches come from `dataset(layer, channel)` (a scanned folder of photos) where it has them, with
    the photo's own; from the examples and the photo otherwise."""
    layer, channel = parse_unit(backbone, unit)
    cache = cache or TileCache()
    shown = photo if photo is not None else next(iter(examples.values()))
    new = photo is not None and not any(np.array_equal(photo, p) for p in examples.values())
    scanned = dataset(layer, channel) if dataset else []
    photos = dict({} if scanned else examples, **({"your photo": photo} if new else {}))
    shown = images.fit_for_network(shown, min(PHOTO_SIDE, max(shown.shape[:2])))
    response, heat = activation_map(backbone, layer, channel, shown)
    top = sorted(scanned + top_patches(backbone, layer, channel, photos, patches), key=lambda p: -p[2])[:patches]
    found = [(heat, f"where {layer}:{channel} fires on the {'photo' if photo is not None else 'example'} "
                    f"(mean {response:.2f})")]
    found += [(crop, f"{name} · {value:.1f}") for crop, name, value in top]
    figures = {"mean on the photo": response, "strongest patch": top[0][2] if top else 0.0}

    def page(pictures):
        return UnitPage(f"{layer}:{channel}", layer, channel, pictures, figures, f"?unit={layer}:{channel}")

    yield page(found)
    large = []
    for seed in (0, 1):
        *_, known = tiles(backbone, layer, [channel], cache, replace(UNIT, seed=seed))
        large.append((known[channel], f"{layer}:{channel} · seed {seed}"))
    yield page(large + found)
    *_, dream = visualize(backbone, f"{layer}:{channel}", start=shown, every=CARICATURE["steps"], **CARICATURE)
    shown_so_far = large + [(dream.images[0], "caricature: DeepDream of this unit from the photo")] + found
    yield page(shown_so_far)
    yield page(shown_so_far + diverse_and_negative(backbone, layer, channel, large[0][0], cache))


def diverse_and_negative(backbone: Backbone, layer: str, channel: int, ordinary: np.ndarray,
                         cache: TileCache) -> list[tuple[np.ndarray, str]]:
    """Four pictures of the unit pushed apart (what else it responds to) and its negative (what it
    responds to least), computed once and cached like the tiles."""
    target = parse_target(backbone, f"{layer}:{channel}")
    keys = [tile_key(backbone, layer, channel, replace(EXTRAS, preset=f"diverse {k}")) for k in range(4)]
    keys.append(tile_key(backbone, layer, channel, replace(EXTRAS, preset="negative")))
    found = [cache.get(key) for key in keys]
    if any(picture is None for picture in found):
        found = diverse(backbone, target, ordinary, 4, EXTRAS.steps, EXTRAS.size) + [
            negative(backbone, target, EXTRAS.steps, EXTRAS.size)]
        cache.put_all(dict(zip(keys, found)))
    captions = [f"{layer}:{channel} · diverse {k + 1} of 4" for k in range(4)]
    return list(zip(found, captions + ["negative: what it responds to least"]))


# ---------------------------------------------------------------- precomputing, sharing


def fetch_shared_cache(cache: TileCache, repo: str | None = None) -> str:
    """Download a precomputed atlas from the Hugging Face dataset `repo` (or $VIZ_ATLAS_REPO) into the
    cache; a note of what happened (never an exception: without it, tiles are computed on demand)."""
    repo = repo or os.environ.get(REPO_ENV)
    if not repo:
        return "no shared atlas configured"
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(repo_id=repo, repo_type="dataset", local_dir=str(cache.folder),
                          allow_patterns=["*/*.png", f"{SHOWCASE_FOLDER}/**", f"{PATCHES_FOLDER}/**"])
        return f"atlas tiles and first-visit results from {repo}"
    except Exception as err:  # offline, private, missing: compute on demand instead
        return f"the shared atlas {repo} could not be fetched ({type(err).__name__}); tiles are computed on demand"


def precompute(backbone: Backbone, layers: list[str], cache: TileCache, progress=print,
               settings: TileSettings = TILE) -> float:
    """Fill the cache for whole layers (resumable: cached tiles are skipped); returns the seconds."""
    begin = time.perf_counter()
    for layer in layers:
        count = units(backbone, layer)
        for page in range(-(-count // PER_PAGE)):
            for state in atlas_page(backbone, layer, page, cache, settings):
                done = page * PER_PAGE + len(state.pictures)
                progress(f"{layer}: {done} / {count} channels · {time.perf_counter() - begin:.0f} s")
    return time.perf_counter() - begin


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Precompute atlas tiles (resumable).")
    parser.add_argument("--layers", nargs="+", required=True, help="conv layers, e.g. block5_conv3")
    parser.add_argument("--out", default=None, help=f"cache folder (default ${CACHE_ENV} or {DEFAULT_CACHE})")
    parser.add_argument("--weights", default="hed", help="imagenet, hed or a weights file")
    parser.add_argument("--upload", default=None, help="then upload the folder to this HF dataset repo")
    args = parser.parse_args(argv)
    from .weights import load_backbone
    from ..runtime import configure_runtime

    configure_runtime()
    backbone = load_backbone(args.weights)
    cache = TileCache(args.out, max_mb=float("inf"))
    seconds = precompute(backbone, args.layers, cache, lambda line: print("\r" + line, end="", flush=True))
    print(f"\n{', '.join(args.layers)}: done in {seconds:.0f} s → {cache.folder}")
    if args.upload:
        from huggingface_hub import HfApi

        HfApi().upload_folder(repo_id=args.upload, repo_type="dataset", folder_path=str(cache.folder))


if __name__ == "__main__":
    main()
