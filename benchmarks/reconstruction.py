"""Feature inversion: the original project's loop against this project's engine, side by side.

Same photo at 224 px, offline (HED) weights, one process. The two loops differ in SIX ways, so
the speed ratio is of the whole recipe, not of one change:

  reference (the original loop)          engine (`viz.reconstruct` at its defaults)
  Adam 1e-2 on pixels clipped to [0, 1]  L-BFGS with a line search
  starts from uniform noise              starts from flat grey (plus 0.01 noise)
  plain feature MSE, no prior            normalized feature error + total-variation prior
  300 steps, always                      up to its default steps, stops once the loss is flat (<1 % over 20)
  the whole conv network, run eagerly    a network cut at the layer, in a tf.function
  float32                                the fast precision from block3 on (float32 at block1-2)

(Eager, as the original did: compiled, TensorFlow would prune the layers the loss ignores.) The
engine's time includes cutting the network, its target features and tracing; the reference's does
not. Printed per layer: PSNR against the photo, normalized feature error ‖Φ(x) − Φ(x₀)‖/‖Φ(x₀)‖,
seconds and the end-to-end speed ratio. Then the like-for-like table: quality recorded along each
run every 10 steps (the clock paused while measuring), and the time each loop first reaches the
lower of the two final qualities. Quality is PSNR at block1/block2; deeper, where PSNR (and SSIM)
score flat grey above a recognisable inversion, it is the edge correlation: Pearson's r between
the luminance gradient magnitudes of the reconstruction and the photo. A contact sheet (photo,
reference, engine per layer) is written to benchmarks/out/.

Run: python benchmarks/reconstruction.py [--photo examples/astronaut.jpg] [--layers ...]
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
from viz.model import conv_layers, network, pool_layers  # noqa: E402
from viz.io.weights import load_backbone  # noqa: E402
from viz.precision import fast_precision  # noqa: E402
from viz.reconstruct import DEFAULT_RUN, EVERY_BLOCK, ReconstructionRun, psnr, reconstruct  # noqa: E402
from viz.runtime import configure_runtime  # noqa: E402
from sheets import stack_rows  # noqa: E402

configure_runtime()

OUT = Path(__file__).parent / "out"
EVERY = 10  # steps between quality measurements along a run
PSNR_BLOCKS = ("block1", "block2")  # shallow layers, judged by PSNR; deeper ones by edge correlation


def edge_correlation(image: np.ndarray, photo: np.ndarray) -> float:
    """Pearson's r of the luminance gradient magnitudes: do the photo's edges sit where the image's do?"""
    def magnitude(picture):
        rows, cols = np.gradient(images.grey(picture)[..., 0].astype(np.float64))
        return np.hypot(rows, cols).ravel()
    a, b = magnitude(image), magnitude(photo)
    return 0.0 if a.std() == 0 or b.std() == 0 else float(np.corrcoef(a, b)[0, 1])


def quality_for(layer: str):
    """The quality measure and its label for a layer: PSNR where pixels survive, edges where they do not."""
    return (psnr, "PSNR dB") if layer.split("_")[0] in PSNR_BLOCKS else (edge_correlation, "edge r")


def reference_loop(backbone, photo, layer, measure, steps=300, lr=1e-2, seed=0):
    """The original project's inversion: Adam on clipped pixels, MSE on features, full network.

    Returns the image, feature error, seconds and [(seconds, quality)] every EVERY steps (untimed)."""
    full = network(backbone, conv_layers(backbone) + pool_layers(backbone))
    x0 = images.to_float(photo)[None]
    goal = full(x0)[layer]
    x = tf.Variable(np.random.default_rng(seed).random(x0.shape, dtype=np.float32))
    adam = tf.keras.optimizers.Adam(lr)

    def step():  # eager, like the original: every layer is computed (a tf.function would prune them)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(full(x)[layer] - goal))
        adam.apply_gradients([(tape.gradient(loss, x), x)])
        x.assign(tf.clip_by_value(x, 0.0, 1.0))

    seconds, trace = 0.0, []
    for done in range(1, steps + 1):
        start = time.perf_counter()
        step()
        seconds += time.perf_counter() - start
        if done % EVERY == 0 or done in (1, steps):
            trace.append((seconds, measure(images.to_uint8(x.numpy()[0]), photo)))
    error = float(tf.norm(full(x)[layer] - goal) / tf.norm(goal))
    return images.to_uint8(x.numpy()[0]), error, seconds, trace


def engine(backbone, photo, layer, measure, steps=DEFAULT_RUN.steps):
    """`viz.reconstruct` at its defaults, timed only while it runs; same returns as `reference_loop`."""
    run = reconstruct(backbone, photo, ReconstructionRun([layer], size=max(photo.shape[:2]), steps=steps, every=EVERY))
    seconds, trace, result = 0.0, [], None
    while True:
        start = time.perf_counter()
        latest = next(run, None)
        seconds += time.perf_counter() - start
        if latest is None:
            return result.images[0], result.feature_error[0], seconds, trace
        result = latest
        trace.append((seconds, measure(result.images[0], photo)))


def time_to(trace, level: float) -> float:
    """Seconds at which a run's recorded quality first reached `level`."""
    return next(seconds for seconds, quality in trace if quality >= level)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--photo", default="examples/astronaut.jpg")
    parser.add_argument("--layers", nargs="+", default=list(EVERY_BLOCK))
    parser.add_argument("--size", type=int, default=DEFAULT_RUN.size, help="long side of the photo, px")
    parser.add_argument("--ref-steps", type=int, default=300, help="the reference's steps (the original's 300)")
    parser.add_argument("--steps", type=int, default=DEFAULT_RUN.steps, help="the engine's most steps (its default)")
    args = parser.parse_args()
    backbone = load_backbone("hed")
    photo = images.fit_long_side(imagefiles.load_image(args.photo), args.size)
    grey = np.full_like(photo, 128)
    print(f"photo {args.photo} at {photo.shape[1]}×{photo.shape[0]}; a flat grey image scores "
          f"{psnr(grey, photo):.1f} dB and edge r {edge_correlation(grey, photo):.2f} against it")
    print(f"reference: Adam 1e-2, noise start, feature MSE, no prior, {args.ref_steps} steps, whole network eager; "
          f"engine: L-BFGS, grey start, TV prior, ≤ {args.steps} steps with convergence stop, network cut at "
          f"the layer, compiled, {fast_precision().name} from block3\n")
    print(f"{'layer':<14}{'':>3}{'ref PSNR':>9}{'ref err':>9}{'ref s':>8}  |{'PSNR':>7}{'err':>8}{'s':>7}"
          f"  |{'speed ×':>8}")
    sheet, rows = [photo], []
    for layer in args.layers:
        measure, label = quality_for(layer)
        ref_image, ref_error, ref_seconds, ref_trace = reference_loop(backbone, photo, layer, measure, args.ref_steps)
        image, error, seconds, trace = engine(backbone, photo, layer, measure, args.steps)
        print(f"{layer:<14}{'':>3}{psnr(ref_image, photo):>9.1f}{ref_error:>9.3f}{ref_seconds:>8.1f}  |"
              f"{psnr(image, photo):>7.1f}{error:>8.3f}{seconds:>7.1f}  |{ref_seconds / seconds:>8.1f}", flush=True)
        rows.append((layer, label, ref_trace, trace))
        sheet += [ref_image, image, images.stretch(image)]
    print_common_quality(rows)
    OUT.mkdir(exist_ok=True)
    rows = [images.side_by_side(sheet[:1] + sheet[i:i + 3]) for i in range(1, len(sheet), 3)]
    imagefiles.save_png(stack_rows(rows), str(OUT / "reconstruction.png"))
    print(f"\ncontact sheet (photo | reference | engine | engine, contrast stretched): {OUT / 'reconstruction.png'}")


def print_common_quality(rows):
    """The like-for-like table: each loop's time to the lower of the two final qualities."""
    print(f"\ntime to the same quality (the lower of the two finals; measured every {EVERY} steps, clock paused):")
    print(f"{'layer':<14}{'quality':<9}{'ref final':>10}{'ref s':>7}  |{'final':>7}{'s':>7}  |"
          f"{'common':>8}{'ref s':>7}{'s':>7}{'ratio ×':>9}")
    for layer, label, ref_trace, trace in rows:
        common = min(ref_trace[-1][1], trace[-1][1])
        ref_time, time_ = time_to(ref_trace, common), time_to(trace, common)
        print(f"{layer:<14}{label:<9}{ref_trace[-1][1]:>10.2f}{ref_trace[-1][0]:>7.1f}  |{trace[-1][1]:>7.2f}"
              f"{trace[-1][0]:>7.1f}  |{common:>8.2f}{ref_time:>7.1f}{time_:>7.1f}{ref_time / time_:>9.1f}")


if __name__ == "__main__":
    main()
