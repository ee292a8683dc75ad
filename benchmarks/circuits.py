"""Do the weights tell how a unit is built? Two checks of `viz.circuits` on held-out units (offline
weights unless --weights), each on the unit's own atlas picture:

1. Ablation against the weights: for 20 units of block3-block5, the unit's response change when its
   top-weighted excitatory input is zeroed, against the mean change over random input channels
   (5 seeds); the top input should lower it more in >= 80 % of units.
2. Expanded weights against ablation through two layers: for 10 units, the overlap of the 8 inputs
   two layers below with the largest positive expanded weight and the 8 whose zeroing lowers the
   response most (every channel there ablated, one batched pass); random choice overlaps about 8·8/C.

Also times `circuit` and `checked` (the weights and the ablation of a unit page's inputs).

Run: python benchmarks/circuits.py [--weights hed] [--out DIR]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from viz import atlas, circuits  # noqa: E402
from viz.io.cache import TileCache  # noqa: E402
from viz.io.weights import load_backbone  # noqa: E402
from viz.model import units  # noqa: E402
from viz.runtime import configure_runtime  # noqa: E402

LAYERS = ("block3_conv2", "block3_conv3", "block4_conv1", "block4_conv2", "block4_conv3",
          "block5_conv1", "block5_conv2", "block5_conv3")


def held_out(backbone, count: int, seed: int) -> list[str]:
    """`count` units spread over LAYERS, channels drawn at random (not the ones tests use)."""
    rng = np.random.default_rng(seed)
    return [f"{layer}:{int(rng.integers(units(backbone, layer)))}"
            for layer in (LAYERS[k % len(LAYERS)] for k in range(count))]


def own_picture(backbone, unit: str, cache: TileCache) -> np.ndarray:
    layer, channel = unit.split(":")
    *_, known = atlas.tiles(backbone, layer, [int(channel)], cache)
    return known[int(channel)]


def weights_against_ablation(backbone, cache, rows: int = 20) -> float:
    print(f"\n1. zeroing the top-weighted excitatory input vs a random input ({rows} units, own picture)")
    print(f"{'unit':<18}{'top input':>20}{'weight':>9}{'top change':>12}{'random mean':>13}  top lower?")
    wins, silent = 0, 0
    for unit in held_out(backbone, rows, seed=34):
        picture = own_picture(backbone, unit, cache)
        found = circuits.circuit(backbone, unit)
        top = found.inputs[0]
        layer = unit.split(":")[0]
        start = circuits.layer_input(backbone, layer)
        count = units(backbone, circuits.neighbours(backbone, layer)[0])
        random = np.random.default_rng(0).choice(count, 5, replace=False).tolist()
        change = circuits.ablation(backbone, unit, start, [top.channel] + random, picture)
        if np.isnan(change).all():
            silent += 1
            print(f"{unit:<18}{top.unit:>20}{top.weight:>9.3f}  silent on its own picture: no        no")
            continue
        win = change[0] < change[1:].mean()
        wins += win
        print(f"{unit:<18}{top.unit:>20}{top.weight:>9.3f}{change[0]:>+12.1%}{change[1:].mean():>+13.1%}  {'yes' if win else 'no'}")
    print(f"top input lowers the response more than random ones in {wins} / {rows} units ({wins / rows:.0%}); "
          f"{wins} / {rows - silent} of those that respond to their own picture ({wins / max(rows - silent, 1):.0%})")
    return wins / rows


def expanded_against_ablation(backbone, cache, rows: int = 10, top: int = 8) -> float:
    print(f"\n2. expanded weights vs ablation through two layers: overlap of the top {top} excitatory ({rows} units)")
    print("   (reference: the expanded weight times the input's mean activation on the picture, which sees the data)")
    print(f"{'unit':<18}{'two below':>14}{'weights':>9}{'× activation':>14}{'by chance':>11}")
    overlaps, references = [], []
    for unit in held_out(backbone, rows, seed=35):
        layer, channel = unit.split(":")
        lower = circuits.neighbours(backbone, layer)[0]
        two_below = circuits.neighbours(backbone, lower)[0]
        picture = own_picture(backbone, unit, cache)
        weights = circuits.expanded(backbone, layer, int(channel)).sum(axis=(0, 1))
        start = circuits.layer_input(backbone, lower)
        activity = circuits.activations_at(backbone, start, picture).numpy()[0].mean(axis=(0, 1))
        count = units(backbone, two_below)
        change = circuits.ablation(backbone, unit, start, list(range(count)), picture)
        by_ablation = set(np.argsort(change, kind="stable")[:top].tolist())  # the largest falls
        overlaps.append(len(set(circuits.ranked(weights, top, 0)) & by_ablation))
        references.append(len(set(circuits.ranked(weights * activity, top, 0)) & by_ablation))
        print(f"{unit:<18}{two_below:>14}{overlaps[-1]:>6} / {top}{references[-1]:>11} / {top}{top * top / count:>11.2f}")
    print(f"mean overlap: expanded weights {np.mean(overlaps):.1f} / {top}, "
          f"times the input's activation {np.mean(references):.1f} / {top}")
    return float(np.mean(overlaps))


def timings(backbone, cache, unit: str = "block4_conv2:100") -> None:
    picture = own_picture(backbone, unit, cache)
    begin = time.perf_counter()
    found = circuits.circuit(backbone, unit)
    weights = time.perf_counter() - begin
    circuits.checked(backbone, found, {"its picture": picture})
    begin = time.perf_counter()
    circuits.checked(backbone, found, {"its picture": picture, "photo": picture})
    print(f"\n{unit}: weights {weights * 1000:.0f} ms; ablation of {len(found.inputs)} inputs on two pictures "
          f"{(time.perf_counter() - begin) * 1000:.0f} ms (warm)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", default="hed")
    parser.add_argument("--out", default=None, help="tile cache (default: a fresh temporary one)")
    args = parser.parse_args()
    configure_runtime()
    backbone = load_backbone(args.weights)
    cache = TileCache(args.out or tempfile.mkdtemp(), max_mb=float("inf"))
    print(f"weights: {backbone.source}; tiles in {cache.folder}")
    weights_against_ablation(backbone, cache)
    expanded_against_ablation(backbone, cache)
    timings(backbone, cache)


if __name__ == "__main__":
    main()
