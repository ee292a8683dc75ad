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
from functools import lru_cache
from typing import Callable, Iterator

import numpy as np

from . import circuits, images
from .errors import check_range
from .io.cache import TileCache, computed_once, picture_key
from .microscope import (CARICATURE, EXTRAS, PHOTO_SIDE, TILE, UNIT, TileSettings, activation_map, parse_unit, render,
                         top_patches)
from .model import Backbone, check_conv_layer, conv_layers, units
from .targets import parse_target
from .visualize import VisualizationRun, diverse, negative, visualize

# Tiles are computed a batch at a time (one compiled step for the batch); the first batch is half as
# large, so a page's first tiles show sooner (benchmarks/atlas.py).
PER_PAGE, BATCH, FIRST_BATCH = 64, 8, 4
WANTED_FILE, WANTED_KEPT = "wanted.txt", 512  # the units visitors were shown without their picture, the last ones
FILL_ROOM = 0.9  # the background fill stops when the cache holds this share of its limit (room for visitors' own)


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


UNIT_PARTS = 4
CIRCUIT_PHOTO_SIDE = 224  # a photo's long side for the circuit's ablation
OWN, PHOTO = "its picture", "your photo"  # the pictures a circuit's ablation is checked on  # a unit page streams in as many parts (see unit_page)


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


# ---------------------------------------------------------------- a unit's circuit


@dataclass
class CircuitPage:
    """One streamed state of a unit's circuit: the circuit (checked by ablation once the unit's own
    picture is known) and the pictures of its units known so far (unit -> tile)."""

    circuit: circuits.Circuit
    pictures: dict[str, np.ndarray]
    wanted: int  # how many pictures the page shows in all
    seconds: float


def circuit_page(backbone: Backbone, unit: str, photo: np.ndarray | None, cache: TileCache | None = None,
                 draw: bool = True, settings: TileSettings = TILE) -> Iterator[CircuitPage]:
    """The unit's circuit: at once with the cached pictures (checked on the unit's picture if it is
    cached, and on `photo` if given), then (`draw`) each missing picture as its batch is made, the
    unit's own first (the check on it follows)."""
    found, begin, cache = circuits.circuit(backbone, unit), time.perf_counter(), cache or TileCache()
    wanted = units_by_layer([found.unit] + [link.unit for link in found.inputs + found.outputs + found.below])
    known = {u: p for u, p in ((f"{layer}:{c}", cache.get(tile_key(backbone, layer, c, settings)))
                               for layer, channels in wanted.items() for c in channels) if p is not None}
    photos = {} if photo is None else {PHOTO: images.fit_for_network(photo, CIRCUIT_PHOTO_SIDE)}

    def check() -> circuits.Circuit:
        own = checked_on_own(backbone, found.unit, cache, settings) if found.unit in known else found
        return circuits.checked(backbone, own, photos)

    checked, count = check(), sum(map(len, wanted.values()))
    if not draw:
        want(cache, [f"{layer}:{c}" for layer, channels in wanted.items() for c in channels if f"{layer}:{c}" not in known])
    yield CircuitPage(checked, dict(known), count, time.perf_counter() - begin)
    for layer, channels in wanted.items() if draw else ():
        missing = [c for c in channels if f"{layer}:{c}" not in known]
        for made in tiles(backbone, layer, missing, cache, settings) if missing else ():
            if made:
                own_is_new = found.unit not in known
                known.update({f"{layer}:{c}": picture for c, picture in made.items()})
                checked = check() if own_is_new and found.unit in known else checked
                yield CircuitPage(checked, dict(known), count, time.perf_counter() - begin)


@lru_cache(maxsize=256)
def checked_on_own(backbone: Backbone, unit: str, cache: TileCache, settings: TileSettings) -> circuits.Circuit:
    """A unit's circuit checked on its own cached picture: the same every time (the weights and the
    picture are fixed), so computed once a process."""
    layer, channel = unit.split(":")
    own = cache.get(tile_key(backbone, layer, int(channel), settings))
    return circuits.checked(backbone, circuits.circuit(backbone, unit), {} if own is None else {OWN: own})


def units_by_layer(names: list[str]) -> dict[str, list[int]]:
    """`layer:channel` names (other names skipped) grouped by layer, each once, in their first order."""
    grouped: dict[str, list[int]] = {}
    for name in dict.fromkeys(n for n in names if ":" in n):
        layer, channel = name.split(":")
        grouped.setdefault(layer, []).append(int(channel))
    return grouped


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


def fill_order(backbone: Backbone) -> list[str]:
    """The order the whole atlas is filled in: each block's last conv layer, deepest first (what the
    atlas opens on and most links lead to), then the others, deepest first."""
    convs = conv_layers(backbone)
    last = [layer for layer, after in zip(convs, convs[1:] + [""]) if layer.split("_")[0] != after.split("_")[0]]
    return last[::-1] + [layer for layer in convs[::-1] if layer not in last]


def ready(backbone: Backbone, cache: TileCache, settings: TileSettings = TILE) -> dict[str, tuple[int, int]]:
    """Each layer's tiles in the cache, and how many it has: (ready, all)."""
    return {layer: (sum(cache.path(tile_key(backbone, layer, c, settings)).is_file() for c in range(count)), count)
            for layer, count in ((layer, units(backbone, layer)) for layer in conv_layers(backbone))}


def want(cache: TileCache, names: list[str]) -> None:
    """Note units a visitor was shown without their picture: the background fill makes them first."""
    path = cache.folder / WANTED_FILE
    try:
        kept = path.read_text().split()[-WANTED_KEPT:] if path.is_file() else []
        path.write_text("\n".join(dict.fromkeys(kept + names)))
    except OSError:  # a note for later, never a reason to refuse a visitor
        pass


def next_missing(backbone: Backbone, cache: TileCache, settings: TileSettings = TILE) -> tuple[str, list[int]] | None:
    """The next batch of tiles the fill makes (a layer and up to BATCH of its channels): those visitors
    were shown without a picture first (`want`), then the layers in `fill_order`; None when all are ready."""
    path = cache.folder / WANTED_FILE
    wanted = units_by_layer(path.read_text().split() if path.is_file() else [])
    everything = {layer: list(range(units(backbone, layer))) for layer in fill_order(backbone)}
    for group in (wanted, everything):
        for layer, channels in group.items():
            missing = [c for c in channels if not cache.path(tile_key(backbone, layer, c, settings)).is_file()]
            if missing:
                return layer, missing[:BATCH]
    return None


def fill_atlas(backbone: Backbone, cache: TileCache, progress=print, settings: TileSettings = TILE,
               room: float = FILL_ROOM) -> int:
    """Make every missing tile of the atlas, a batch at a time, wanted ones first (resumable: what is
    cached is skipped), while the cache holds less than `room` of its limit; returns the tiles made."""
    made = 0
    while cache.size() < room * cache.max_bytes and (batch := next_missing(backbone, cache, settings)):
        layer, channels = batch
        list(tiles(backbone, layer, channels, cache, settings))
        made += len(channels)
        progress(f"atlas: {layer} {', '.join(map(str, channels))} · {made} tiles made")
    return made


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
