"""Channel visualization quality: the Lucid preset against two plain baselines, offline weights.

16 channels spread over block3_conv3, block4_conv3 and block5_conv3, by default at the app's default
steps and size (the lucid preset, coarse to fine; this prints them). For each
layer it prints how many results are flat (pixel std < 0.03, i.e. grey squares), the ratio of the
optimized channel's mean (post-ReLU) activation to the highest mean activation that channel reaches
on the example photos, and seconds. Two baselines: "naive" is the original approach, Adam on raw
pixels maximizing the channel's post-ReLU mean at full size (its gradient is zero on a channel
silent at the start, so those stay grey); "raw" is the app's own raw preset, Adam on pixels with
no transforms but the pre-ReLU objective and the app's coarse-to-fine plan, so it isolates what
the lucid preset's Fourier colour and transforms add. Both presets run in the fast precision as the app does;
the naive loop in float32. A contact sheet (naive, raw and Lucid rows,
per layer) goes to benchmarks/out/.

Run: python benchmarks/visualization.py [--steps N] [--size PX]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from viz import images  # noqa: E402
from viz.io import imagefiles  # noqa: E402
from viz.model import features, network, units  # noqa: E402
from viz.io.weights import load_backbone  # noqa: E402
from viz.visualize import CHANNEL_RUN, NOISE_STAGES, VisualizationRun, visualize  # noqa: E402
from viz.runtime import configure_runtime  # noqa: E402
from sheets import stack_rows  # noqa: E402

configure_runtime()

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).parent / "out"
LAYERS = {"block3_conv3": 5, "block4_conv3": 5, "block5_conv3": 6}


def naive_ascent(backbone, layer, channels, steps, size, lr=0.02, seed=0):
    """The naive reference: maximize each channel's post-ReLU mean on raw pixels with Adam."""
    net = network(backbone, [layer])
    rng = np.random.default_rng(seed)
    x = tf.Variable((0.5 + 0.01 * rng.standard_normal((len(channels), size, size, 3))).astype(np.float32))
    mask = tf.one_hot(channels, units(backbone, layer))  # item i looks at channel i
    adam = tf.keras.optimizers.Adam(lr)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            act = net(tf.clip_by_value(x, 0, 1))[layer]
            loss = -tf.reduce_sum(tf.reduce_mean(act, axis=(1, 2)) * mask)
        adam.apply_gradients([(tape.gradient(loss, x), x)])

    for _ in range(steps):
        step()
    return images.to_uint8(np.clip(x.numpy(), 0, 1))


def mean_activations(backbone, layer, pictures, channels):
    acts = features(backbone, np.stack([images.to_float(p) for p in pictures]), [layer])[layer]
    return acts.mean(axis=(1, 2))[:, channels]  # (pictures, channels)


def report(backbone, name, layer, pictures, channels, best_on_photos, seconds):
    acts = np.diagonal(mean_activations(backbone, layer, pictures, channels))
    flat = sum(float(p.std()) / 255 < 0.03 for p in pictures)
    ratios = acts / np.maximum(best_on_photos, 1e-6)
    print(f"{layer:<14}{name:<7}{flat:>3} of {len(channels):<3}{ratios.min():>9.1f}{np.median(ratios):>9.1f}"
          f"{seconds:>9.1f}", flush=True)


def app_preset(backbone, layer, channels, steps, size, preset):
    """The app's own visualization of the channels under `preset`: its final images."""
    targets = [f"{layer}:{c}" for c in channels]
    *_, final = visualize(backbone, VisualizationRun(targets, steps, size, preset, every=steps))
    return final.images


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=CHANNEL_RUN.steps)
    parser.add_argument("--size", type=int, default=CHANNEL_RUN.size)
    args = parser.parse_args()
    backbone = load_backbone("hed")
    photos = [images.fit_long_side(imagefiles.load_image(p), args.size) for p in sorted((ROOT / "examples").glob("*.jpg"))]
    stages = ", ".join(f"{share:.0%} of the steps at size/{divisor:.3g}" for divisor, share in NOISE_STAGES)
    print(f"{len(photos)} example photos; {args.steps} steps at {args.size} px (the app's default: preset lucid, "
          f"{CHANNEL_RUN.steps} steps at {CHANNEL_RUN.size} px, coarse to fine: {stages})\n")
    print(f"{'layer':<14}{'run':<7}{'flat':>10}{'min ratio':>9}{'median':>9}{'seconds':>9}")
    rows = []
    for layer, count in LAYERS.items():
        channels = [int(c) for c in np.linspace(0, units(backbone, layer) - 1, count).round()]
        best = np.max([mean_activations(backbone, layer, [p], channels)[0] for p in photos], axis=0)
        start = time.perf_counter()
        naive = naive_ascent(backbone, layer, channels, args.steps, args.size)
        report(backbone, "naive", layer, list(naive), channels, best, time.perf_counter() - start)
        rows.append(images.side_by_side(list(naive)))
        for preset in ("raw", "lucid"):
            start = time.perf_counter()
            pictures = app_preset(backbone, layer, channels, args.steps, args.size, preset)
            report(backbone, preset, layer, pictures, channels, best, time.perf_counter() - start)
            rows.append(images.side_by_side(pictures))
    OUT.mkdir(exist_ok=True)
    imagefiles.save_png(stack_rows(rows), str(OUT / "visualization.png"))
    print(f"\ncontact sheet (per layer: naive row, raw row, then Lucid row): {OUT / 'visualization.png'}")


if __name__ == "__main__":
    main()
