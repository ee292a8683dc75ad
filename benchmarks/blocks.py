"""Neuron groups on a held-out photo: the share of the activations' energy that k groups explain
(k = 2 … 12), the time to the groups' maps and to their pictures, and how strongly each picture
drives its group's direction against the example photos' best. Then, for a unit page's extras: how
far apart four diverse pictures are (Gram distance at block2_conv2) against four seeds without the
term, their responses against the photos' best, and the negative picture against the photos' lowest.

Run: python benchmarks/blocks.py [--layer block5_conv3] [--weights hed]
"""

import argparse
from dataclasses import replace
import sys
import time
from pathlib import Path

import matplotlib.cbook
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from viz import blocks, images, microscope  # noqa: E402
from viz.io import imagefiles  # noqa: E402
from viz import visualize as vis  # noqa: E402
from viz.io.weights import load_backbone  # noqa: E402
from viz.targets import parse_target  # noqa: E402
from viz.precision import fast_precision  # noqa: E402
from viz.runtime import configure_runtime  # noqa: E402
from measures import channel_response, direction_response, gram_distance  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer", default=blocks.LAST_CONV)
    parser.add_argument("--weights", default="hed")
    parser.add_argument("--units", nargs="*", default=["block3_conv3:12", "block4_conv3:42", "block5_conv3:7"])
    args = parser.parse_args()
    configure_runtime()
    backbone = load_backbone(args.weights)
    photo = imagefiles.load_image(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    examples = [imagefiles.load_image(str(p)) for p in sorted((ROOT / "examples").glob("*.jpg"))]
    print(f"{backbone.source} weights, {fast_precision().name}, layer {args.layer}, a held-out photo (Grace Hopper)")
    for k in range(blocks.GROUPS.low, blocks.GROUPS.high + 1):
        start = time.perf_counter()
        found = blocks.neuron_groups(backbone, photo, blocks.GroupsRun(args.layer, k))
        seconds = time.perf_counter() - start
        print(f"  k = {k:2d}: explains {100 * found.explained:5.1f} % of the energy ({seconds:.2f} s)")
    start = time.perf_counter()
    found = blocks.neuron_groups(backbone, photo, blocks.GroupsRun(args.layer))
    maps = time.perf_counter() - start
    for _, pictures, _ in blocks.group_directions_pictures(backbone, found):
        pass
    total = time.perf_counter() - start
    print(f"k = {blocks.GROUPS.default}: maps after {maps:.1f} s, every picture after {total:.1f} s")
    ratios = []
    for g, picture in enumerate(pictures):
        direction = found.directions[g]
        best = max(direction_response(backbone, images.fit_for_network(p, blocks.PHOTO_SIDE), args.layer, direction)
                   for p in examples + [photo])
        ours = direction_response(backbone, picture, args.layer, direction)
        ratios.append(ours / best)
        print(f"  group {g + 1}: picture {ours:8.1f}, best photo {best:7.1f}: {ours / best:5.1f}×")
    print(f"every picture ≥ {min(ratios):.1f}× the photos' best along its direction (median {np.median(ratios):.1f}×)")
    for unit in args.units:
        unit_extras(backbone, parse_target(backbone, unit), examples + [photo])


def unit_extras(backbone, unit, photos) -> None:
    """Diverse pictures against seeds, and the negative, for one channel."""
    def response(picture):
        return channel_response(backbone, picture, unit.layer, unit.unit)

    def spread(pictures):
        return gram_distance(backbone, pictures, vis.DIVERSITY_LAYER)

    seen = [response(images.fit_for_network(p, blocks.PHOTO_SIDE)) for p in photos]
    run = vis.VisualizationRun(steps=microscope.EXTRAS.steps, size=microscope.EXTRAS.size)
    seeds = [vis.diverse(backbone, unit, photos[0], 1, replace(run, seed=s))[0] for s in range(4)]
    start = time.perf_counter()
    diverse = vis.diverse(backbone, unit, seeds[0], 4, run)
    took = time.perf_counter() - start
    negative = response(vis.negative(backbone, unit, run))
    print(f"{unit.text}: Gram distance of 4 diverse pictures {spread(diverse):.3f} against 4 seeds {spread(seeds):.4f} "
          f"({took:.1f} s); responses {min(response(p) for p in diverse) / max(seen):.1f}× the photos' best at least "
          f"(seeds {min(response(p) for p in seeds) / max(seen):.1f}×); negative {negative:.2f} against the photos' "
          f"lowest {min(seen):.2f}")


if __name__ == "__main__":
    main()
