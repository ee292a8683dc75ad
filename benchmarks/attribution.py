"""Attribution speed: each method's time for one target, and SmoothGrad batched against a one-by-one loop.

One process, offline (HED) weights, the photo at 224 px, a channel target (it needs no classifier).
The reference for SmoothGrad is the obvious loop: one gradient call per noisy sample. Each figure is
the median of a few repeats after a warm-up call (the first call builds the extractor).

Run: python benchmarks/attribution.py [--photo examples/cat.jpg] [--target block5_conv3:7] [--samples 25]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from viz import attribution as A  # noqa: E402
from viz.io import imagefiles  # noqa: E402
from viz import images  # noqa: E402
from viz.io.weights import load_backbone  # noqa: E402
from viz.precision import fast_precision  # noqa: E402
from viz.targets import parse_target  # noqa: E402
from viz.runtime import configure_runtime  # noqa: E402
from viz.sanity import rank_correlation  # noqa: E402

configure_runtime()


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: builds and traces the extractor
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def smoothgrad_one_by_one(backbone, image01, target, noise, samples, seed=0):
    """The reference: the same noisy copies, one gradient call each."""
    rng = np.random.default_rng(seed)
    sigma = noise * float(image01.max() - image01.min())
    total = 0
    for _ in range(samples):
        noisy = image01[None] + rng.normal(0, sigma, image01.shape).astype(np.float32)
        total = total + np.abs(A.score_gradients(backbone, noisy, target, None)[3][0]).max(axis=-1)
    return images.normalize_robust(total / samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--photo", default="examples/cat.jpg")
    parser.add_argument("--target", default="block5_conv3:7")
    parser.add_argument("--samples", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    backbone = load_backbone("hed")
    photo = images.fit_long_side(imagefiles.load_image(args.photo), 224)
    image01 = images.to_float(photo)
    target = parse_target(backbone, args.target)
    print(f"{args.photo} at {photo.shape[1]}×{photo.shape[0]}, target {args.target}, "
          f"{backbone.source} weights, median of {args.repeats}")
    for method in A.METHODS:
        run = A.AttributionRun(args.target, methods=[method], samples=args.samples)
        seconds = median_seconds(lambda: A.attribution(backbone, photo, run), args.repeats)
        print(f"  {method:<11} {seconds:6.3f} s  (whole call: resize, gradients, map)")
    batched = median_seconds(lambda: A.smoothgrad(backbone, image01, target, 0.15, args.samples, 0), args.repeats)
    looped = median_seconds(lambda: smoothgrad_one_by_one(backbone, image01, target, 0.15, args.samples),
                            args.repeats)
    same = rank_correlation(A.smoothgrad(backbone, image01, target, 0.15, args.samples, 0),
                            smoothgrad_one_by_one(backbone, image01, target, 0.15, args.samples))
    print(f"SmoothGrad, {args.samples} samples: one batch {batched:.2f} s, one by one {looped:.2f} s, "
          f"speed-up {looped / batched:.2f}× (maps' rank correlation {same:.3f})")
    fidelity(backbone, image01, target, args.repeats)


def fidelity(backbone, image01, target, repeats):
    """SmoothGrad with fewer samples (in float32 and, where it was chosen, in bfloat16) against a
    64-sample float32 map of another seed: Spearman's rank correlation and time, so a cheaper default
    is chosen by what it keeps."""
    reference = A.smoothgrad(backbone, image01, target, 0.15, 64, seed=1, fast=False)
    precisions = [False] + ([True] if fast_precision().bfloat16 else [])
    print(f"SmoothGrad against 64 float32 samples (rank correlation, seconds; the default is "
          f"{A.SAMPLES.default} in {fast_precision().name}):")
    for samples in (4, 6, 8, 12, 25):
        row = []
        for fast in precisions:
            seconds = median_seconds(lambda: A.smoothgrad(backbone, image01, target, 0.15, samples, 0, fast), repeats)
            r = rank_correlation(A.smoothgrad(backbone, image01, target, 0.15, samples, 0, fast), reference)
            row.append(f"{'bfloat16' if fast else 'float32'} r = {r:.3f} in {seconds:.2f} s")
        print(f"  {samples:2d} samples: " + "; ".join(row), flush=True)


if __name__ == "__main__":
    main()
