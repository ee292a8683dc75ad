"""The Microscope's pages: every channel's feature visualization (a tile), computed in batches on demand
and kept in the picture cache (`viz.io.cache`) under a key of everything that changes it, so a second
visit shows them at once; and a page per unit (`layer:channel`): the unit large at two seeds, its
activation map over a photo, the photos' patches where it fires most (their receptive field), a
DeepDream "caricature", four diverse pictures and its negative.
Precompute whole layers with `python -m viz.atlas --layers block5_conv3 --out DIR` (resumable).
The pictures themselves are made in `viz.microscope`.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass, replace
from typing import Callable, Iterator

import numpy as np

from . import images
from .errors import check_range
from .io.cache import TileCache, computed_once, picture_key
from .microscope import (CARICATURE, EXTRAS, PHOTO_SIDE, TILE, UNIT, TileSettings, activation_map, parse_unit, render,
                         top_patches)
from .model import Backbone, check_conv_layer, units
from .targets import parse_target
from .visualize import VisualizationRun, diverse, negative, visualize

# Tiles are computed a batch at a time (one compiled step for the batch); the first batch is half as
# large, so a page's first tiles show sooner (benchmarks/atlas.py).
PER_PAGE, BATCH, FIRST_BATCH = 64, 8, 4


def tile_key(backbone: Backbone, layer: str, channel: int, settings: TileSettings) -> str:
    """The cache key of one channel's picture: everything that changes it."""
    return picture_key(backbone, layer=layer, channel=int(channel), settings=asdict(settings))


def tiles(backbone: Backbone, layer: str, channels, cache: TileCache, settings: TileSettings = TILE
          ) -> Iterator[dict[int, np.ndarray]]:
    """The pictures of `channels`: first those in the cache, then each batch as it is computed, each
    once however many callers ask (yields the pictures known so far, channel -> uint8 image)."""
    keys = {c: tile_key(backbone, layer, c, settings) for c in channels}
    known = {c: p for c, p in ((c, cache.get(k)) for c, k in keys.items()) if p is not None}
    yield dict(known)

    def compute(batch: list[int]) -> list[np.ndarray]:
        return render(backbone, layer, batch, settings)

    for batch in batches([c for c in channels if c not in known]):
        known.update(computed_once({c: keys[c] for c in batch}, cache, compute))
        yield dict(known)


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


UNIT_PARTS = 4  # a unit page streams in as many parts (see unit_page)


@dataclass
class UnitPage:
    """What the microscope shows of one channel, after `part` of its UNIT_PARTS parts."""

    unit: str
    layer: str
    channel: int
    pictures: list[tuple[np.ndarray, str]]  # (image, caption), in the order shown
    figures: dict[str, float]
    part: int
    seconds: float


def unit_page(backbone: Backbone, unit: str, photo: np.ndarray | None, examples: dict[str, np.ndarray],
              cache: TileCache | None = None, patches: int = 6,
              dataset: Callable[[str, int], list] | None = None) -> Iterator[UnitPage]:
    """The unit's page, streamed as its parts are ready: the photo's activation map and the top
    patches first (forward passes), then the visualizations (cached), the caricature, then four
    diverse pictures and the negative (cached). The top
    patches come from `dataset(layer, channel)` (a scanned folder of photos) where it has them, with
    the photo's own; from the examples and the photo otherwise."""
    layer, channel = parse_unit(backbone, unit)
    cache, begin, parts = cache or TileCache(), time.perf_counter(), iter(range(1, UNIT_PARTS + 1))
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
        return UnitPage(f"{layer}:{channel}", layer, channel, pictures, figures, next(parts),
                        time.perf_counter() - begin)

    yield page(found)
    large = []
    for seed in (0, 1):
        *_, known = tiles(backbone, layer, [channel], cache, replace(UNIT, seed=seed))
        large.append((known[channel], f"{layer}:{channel} · seed {seed}"))
    yield page(large + found)
    *_, dream = visualize(backbone, replace(CARICATURE, targets=(f"{layer}:{channel}",)), shown)
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
        pictures = VisualizationRun(steps=EXTRAS.steps, size=EXTRAS.size)
        found = diverse(backbone, target, ordinary, 4, pictures) + [negative(backbone, target, pictures)]
        cache.put_all(dict(zip(keys, found)))
    captions = [f"{layer}:{channel} · diverse {k + 1} of 4" for k in range(4)]
    return list(zip(found, captions + ["negative: what it responds to least"]))


# ---------------------------------------------------------------- precomputing


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
    parser.add_argument("--out", default=None, help="cache folder (default $VIZ_ATLAS_DIR or ~/.cache/vgg16-atlas)")
    parser.add_argument("--weights", default="hed", help="imagenet, hed or a weights file")
    parser.add_argument("--upload", default=None, help="then upload the folder to this HF dataset repo")
    args = parser.parse_args(argv)
    from .io.weights import load_backbone
    from .runtime import configure_runtime

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
