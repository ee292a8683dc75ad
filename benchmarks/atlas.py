"""The Microscope's atlas: how long a layer's tiles take, how fast a cached page comes back, and
whether every tile shows what its channel wants (offline weights, this machine's cores).

For `--layer` (block5_conv3: 512 channels) it fills a fresh cache with `viz.atlas.precompute`, as
`python -m viz.atlas` does, timing the first batch, the first page (64 tiles) and the whole layer;
then reads a page back from the cache; then scores every tile as benchmarks/visualization.py
scores a picture: flat (pixel std < 0.03) or not, and its channel's mean activation on the tile over
the channel's best mean activation on the example photos at the tile's size.

Run: python benchmarks/atlas.py [--layer block5_conv3] [--out DIR]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from viz import atlas, images, microscope  # noqa: E402
from viz.io import imagefiles  # noqa: E402
from viz.io.cache import TileCache  # noqa: E402
from viz.model import conv_layers, units  # noqa: E402
from viz.io.weights import load_backbone  # noqa: E402
from viz.runtime import configure_runtime  # noqa: E402
from visualization import mean_activations  # noqa: E402

configure_runtime()
ROOT = HERE.parent


def fill(backbone, layer, cache):
    """Precompute the layer; returns (seconds to the first batch, to the first page, to the end)."""
    marks, begin = {}, time.perf_counter()

    def progress(line):
        done = int(line.split(": ")[1].split(" /")[0])
        for name, count in (("batch", atlas.FIRST_BATCH), ("page", atlas.PER_PAGE)):
            if done >= count and name not in marks:
                marks[name] = time.perf_counter() - begin
        print("\r" + line, end="", flush=True)

    total = atlas.precompute(backbone, [layer], cache, progress)
    print()
    return marks.get("batch", total), marks.get("page", total), total


def cached_page_seconds(backbone, layer, cache) -> float:
    start = time.perf_counter()
    state = next(atlas.atlas_page(backbone, layer, 0, cache))
    assert len(state.pictures) == len(state.channels), "the page should be cached"
    return time.perf_counter() - start


def quality(backbone, layer, cache):
    """Flat tiles and the per-tile ratio of its channel's response to the photos' best."""
    channels = list(range(units(backbone, layer)))
    tiles = [cache.get(atlas.tile_key(backbone, layer, c, microscope.TILE)) for c in channels]
    photos = [images.fit_long_side(imagefiles.load_image(str(p)), microscope.TILE.size)
              for p in sorted((ROOT / "examples").glob("*.jpg"))]
    best = np.max([mean_activations(backbone, layer, [p], channels)[0] for p in photos], axis=0)
    responses = np.concatenate([np.diagonal(mean_activations(backbone, layer, tiles[k:k + 64], channels[k:k + 64]))
                                for k in range(0, len(channels), 64)])
    flat = sum(float(t.std()) / 255 < 0.03 for t in tiles)
    return flat, responses / np.maximum(best, 1e-6)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer", default="block5_conv3")
    parser.add_argument("--out", default=None, help="cache folder (default: a fresh temporary one)")
    args = parser.parse_args()
    backbone = load_backbone("hed")
    cache = TileCache(args.out or tempfile.mkdtemp(prefix="atlas-bench-"), max_mb=float("inf"))
    count = units(backbone, args.layer)
    print(f"{args.layer}: {count} channels, tiles {microscope.TILE.size} px, {microscope.TILE.steps} steps, batches of "
          f"{atlas.BATCH}, cache {cache.folder}")
    batch, page, total = fill(backbone, args.layer, cache)
    print(f"first batch ({atlas.FIRST_BATCH} tiles) {batch:.1f} s · first page ({atlas.PER_PAGE}) {page:.1f} s · "
          f"whole layer {total:.0f} s ({total / count:.2f} s a channel)")
    print(f"a cached page of {atlas.PER_PAGE} tiles: {cached_page_seconds(backbone, args.layer, cache):.2f} s")
    flat, ratios = quality(backbone, args.layer, cache)
    print(f"quality: {flat} flat of {count}; response over the photos' best: min {ratios.min():.1f}×, "
          f"5th percentile {np.percentile(ratios, 5):.1f}×, median {np.median(ratios):.1f}×; "
          f"{int((ratios < 5).sum())} tiles under 5×")
    all_channels = sum(units(backbone, layer) for layer in conv_layers(backbone))
    print(f"all {all_channels} conv channels at this layer's pace (the deepest, so an upper bound): "
          f"{all_channels * total / count / 3600:.1f} h on this machine")


if __name__ == "__main__":
    main()
