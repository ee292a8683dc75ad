"""Feature inversion: the original project's loop against this project's engine, side by side.

Same photo at 224 px, offline (HED) weights, one process. The reference is the original loop:
Adam 1e-2 on [0, 1] pixels from uniform noise, clipped to [0, 1] after each step, plain
mean-squared feature error, no regularizer, 300 steps, the full convolutional network run
eagerly as the original did (compiled, TensorFlow would prune the layers the loss ignores). The
engine runs `viz.reconstruct` at its defaults. Printed per layer: PSNR against the photo,
normalized feature error ‖Φ(x) − Φ(x₀)‖/‖Φ(x₀)‖, seconds and the speed ratio; a contact sheet
(photo, reference, engine per layer) is written to benchmarks/out/.

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
from viz.model import load_backbone, network  # noqa: E402
from viz.reconstruct import psnr, reconstruct  # noqa: E402
from viz.runtime import configure_runtime  # noqa: E402

configure_runtime()

OUT = Path(__file__).parent / "out"


def reference_loop(backbone, photo, layer, steps=300, lr=1e-2, seed=0):
    """The original project's inversion: Adam on clipped pixels, MSE on features, full network."""
    full = network(backbone, [n for n in backbone.layer_names if "_conv" in n or "_pool" in n])
    x0 = images.to_float(photo)[None]
    goal = full(x0)[layer]
    x = tf.Variable(np.random.default_rng(seed).random(x0.shape, dtype=np.float32))
    adam = tf.keras.optimizers.Adam(lr)

    def step():  # eager, like the original: every layer is computed (a tf.function would prune them)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(full(x)[layer] - goal))
        adam.apply_gradients([(tape.gradient(loss, x), x)])
        x.assign(tf.clip_by_value(x, 0.0, 1.0))

    start = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - start
    error = float(tf.norm(full(x)[layer] - goal) / tf.norm(goal))
    return images.to_uint8(x.numpy()[0]), error, seconds


def engine(backbone, photo, layer):
    start = time.perf_counter()
    for result in reconstruct(backbone, photo, [layer], size=max(photo.shape[:2])):
        pass
    return result.images[0], result.feature_error[0], time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--photo", default="examples/astronaut.jpg")
    parser.add_argument("--layers", nargs="+", default=["block1_conv2", "block3_conv3", "block5_conv3"])
    args = parser.parse_args()
    backbone = load_backbone("hed")
    photo = images.fit_long_side(images.load_image(args.photo), 224)
    grey = np.full_like(photo, 128)
    print(f"photo {args.photo} at {photo.shape[1]}×{photo.shape[0]}; a flat grey image scores "
          f"{psnr(grey, photo):.1f} dB against it\n")
    print(f"{'layer':<14}{'':>3}{'ref PSNR':>9}{'ref err':>9}{'ref s':>8}  |{'PSNR':>7}{'err':>8}{'s':>7}"
          f"  |{'speed ×':>8}")
    sheet = [photo]
    for layer in args.layers:
        ref_image, ref_error, ref_seconds = reference_loop(backbone, photo, layer)
        image, error, seconds = engine(backbone, photo, layer)
        print(f"{layer:<14}{'':>3}{psnr(ref_image, photo):>9.1f}{ref_error:>9.3f}{ref_seconds:>8.1f}  |"
              f"{psnr(image, photo):>7.1f}{error:>8.3f}{seconds:>7.1f}  |{ref_seconds / seconds:>8.1f}", flush=True)
        sheet += [ref_image, image, images.stretch(image)]
    OUT.mkdir(exist_ok=True)
    rows = [images.side_by_side(sheet[:1] + sheet[i:i + 3]) for i in range(1, len(sheet), 3)]
    images.save_png(images.stack_rows(rows), str(OUT / "reconstruction.png"))
    print(f"\ncontact sheet (photo | reference | engine | engine, contrast stretched): {OUT / 'reconstruction.png'}")


if __name__ == "__main__":
    main()
