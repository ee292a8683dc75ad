"""Neural style transfer (Gatys, Ecker & Bethge 2016) and the per-layer style study, on the shared loop.

The terms follow the TensorFlow style-transfer tutorial so results compare: Gram = Σ F⊗F / (H·W);
style = mean over style layers of the mean squared Gram difference; content = mean over content
layers of the mean squared feature difference; total = style_weight·style + content_weight·content
+ tv_weight·Σ|neighbour differences|, on [0, 1] images. The app's default divides each term by its
target's energy (TV per pixel), so one set of weights holds for any VGG16 weights (`Weights`). The
fast path runs coarse to fine (STAGES) with L-BFGS on a slightly smoothed TV, the network in the
process's fast precision.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Iterator

import numpy as np
import tensorflow as tf

from . import images
from .engine import objectives
from .errors import SEED, Range
from .knobs import Knobs, choice, knob
from .model import Backbone, check_layers, fast_dtype, network
from .engine.optimize import (DEFAULT_LR, MIN_STAGE_SIDE, OPTIMIZERS, Schedule, coarse_to_fine, interleaved, optimize,
                              stage_plan)
from .engine.param import pixels

STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
CONTENT_LAYERS = ("block5_conv2",)


@dataclass(frozen=True)
class Weights:
    """How much style, content and total variation count.

    `normalized` (the app's default): each layer's Gram error is divided by the style Gram's energy and
    the content error by the content features' energy, and TV is per pixel, so the same weights work
    on any VGG16 weights at any size (the features' scale cancels). Otherwise the TensorFlow
    tutorial's raw terms, with TV summed over the image.
    """

    style: float
    content: float
    tv: float
    normalized: bool = True


TUTORIAL_WEIGHTS = Weights(style=1e-2, content=1e4, tv=30.0, normalized=False)
# The weights as a person sets them: style and content on a log10 scale, TV as it is. The defaults were
# chosen by eye on the example pairs (offline weights): more of the content kept than the old
# per-source values did, as clearly stylized.
STYLE_STRENGTH = Range("Style strength", -4.0, 4.0, 0.5, step=0.25,
                       label="Style strength (log10 of its weight)")
CONTENT_STRENGTH = Range("Content strength", -4.0, 4.0, 0.0, step=0.25,
                         label="Content strength (log10 of its weight)")
SMOOTHNESS = Range("Smoothness (TV weight)", 0.0, 50.0, 2.0, step=0.5)
STARTS = ("content", "noise", "style")
# Sized so that the default run ends on its own well within the time limit on the slowest CPU class
# (2 cores, AVX2, float32), clearly stylized (benchmarks/style_transfer.py --weights app, latency.py).
SIZE = Range("Output size", 64, 768, 320, step=32, label="Output size (long side, px)")
STEPS = Range("Steps", 1, 1000, 70)
STYLE_SCALE = Range("Style scale", 0.25, 2.0, 1.0, step=0.05)
PER_LAYER_SIZE = Range("Output size", 64, SIZE.high // 2, 224, step=32)
# (divisor of the size, share of the steps), coarse to fine: a coarse step costs a fraction of a full
# one, and the plan that reached the default's loss soonest per unit of time against the tutorial's
# loop (benchmarks/style_transfer.py --weights app) gives the full size the last share.
STAGES = ((4, 0.25), (2, 0.35), (1, 0.4))
FULL_SIZE_ONLY = ((1, 1.0),)


@dataclass(frozen=True)
class TransferRun(Knobs):
    """A style transfer's knobs: the style's and the content's strengths (log10 of their weights) and
    the smoothness (TV per pixel), or `weights` as they are instead; the output's long side, the
    steps, the start, whether the content keeps its colours, the style picture's scale, the seed. And
    how it runs: the layers it reads, its optimizer, its coarse-to-fine stages, whether the network
    computes in the fast precision, how often it reports."""

    style_strength: float = knob(STYLE_STRENGTH)
    content_strength: float = knob(CONTENT_STRENGTH)
    smoothness: float = knob(SMOOTHNESS)
    size: int = knob(SIZE)
    steps: int = knob(STEPS)
    start: str = choice("Start", STARTS)
    keep_colors: bool = False
    style_scale: float = knob(STYLE_SCALE)
    seed: int = knob(SEED)
    weights: Weights | None = None
    style_layers: tuple[str, ...] = STYLE_LAYERS
    content_layers: tuple[str, ...] = CONTENT_LAYERS
    optimizer: str = choice("Optimizer", OPTIMIZERS, "lbfgs")
    stages: tuple = STAGES
    fast: bool = True
    every: int = 10

    def chosen_weights(self) -> Weights:
        """`weights` if given, else the strengths' and the smoothness's (scale-free, see Weights)."""
        return self.weights or Weights(10.0 ** self.style_strength, 10.0 ** self.content_strength, self.smoothness)


DEFAULT_RUN = TransferRun()
PER_LAYER_TV = 0.1
# The fast path minimizes TV with |d| smoothed within this of 0 (on [0, 1] pixels): plain |d| has a
# kink that stalls L-BFGS; smoothed much more, the image keeps noise that plain TV counts
# (benchmarks/style_transfer.py).
TV_SMOOTH = 0.001
# A finer stage that starts from the content gets this share of the content's detail that the
# coarser stage could not hold (it reaches the tutorial loop's loss sooner, benchmarks/style_transfer.py;
# more detail costs more in TV than it saves in content).
CONTENT_DETAIL = 0.25


@dataclass
class Stylized:
    """One streamed state of a style transfer (or of the per-layer study: one image per layer)."""

    step: int
    steps: int
    seconds: float
    images: list[np.ndarray]  # uint8
    captions: list[str]
    losses: dict[str, float]  # weighted terms of the (first) image: style, content, tv


# ---------------------------------------------------------------- the objective


def gram(features: tf.Tensor, dtype=tf.float32) -> tf.Tensor:
    """Σ over positions of F ⊗ F, divided by the number of positions: (B, C, C), in the features' dtype.

    A matmul over the flattened positions (faster than oneDNN's einsum), its products in `dtype`:
    bfloat16 where the machine has it, which moves the style loss of a stylized image negligibly.
    """
    shape = tf.shape(features)
    flat = tf.cast(tf.reshape(features, (shape[0], shape[1] * shape[2], shape[3])), dtype)
    product = tf.cast(tf.matmul(flat, flat, transpose_a=True), features.dtype)
    return product / tf.cast(shape[1] * shape[2], features.dtype)


def style_loss(targets: dict[str, np.ndarray], normalized: bool = False, name: str = "style",
               dtype=tf.float32) -> objectives.Objective:
    """Mean over layers of the mean squared Gram difference to the style image's Grams; `normalized`
    divides each layer's by its style Gram's mean square, so every layer counts alike at any scale."""
    layers = list(targets)

    def fn(features, image, data):
        per_layer = [data[f"scale {layer}"] * tf.reduce_mean(tf.square(gram(features[layer], dtype) - data[layer]),
                                                            axis=(1, 2))
                     for layer in layers]
        return tf.add_n(per_layer) / len(per_layer)

    return objectives.objective(name, fn, layers, with_scales(targets, normalized))


def content_loss(targets: dict[str, np.ndarray], normalized: bool = False,
                 name: str = "content") -> objectives.Objective:
    """Mean over layers of the mean squared feature difference to the content image's features;
    `normalized` divides each layer's by the content features' mean square."""
    layers = list(targets)

    def fn(features, image, data):
        per_layer = [data[f"scale {layer}"] * objectives.batch_mean(tf.square(features[layer] - data[layer]))
                     for layer in layers]
        return tf.add_n(per_layer) / len(per_layer)

    return objectives.objective(name, fn, layers, with_scales(targets, normalized))


def with_scales(targets: dict[str, np.ndarray], normalized: bool) -> dict:
    """A loss's data: each layer's target, and its scale (1 / its energy if `normalized`, else 1)."""
    scales = {f"scale {layer}": 1.0 / energy(t) if normalized else 1.0 for layer, t in targets.items()}
    return {**targets, **scales}


def energy(x: np.ndarray) -> float:
    """Mean square of a target (1 for an all-zero one, which has nothing to normalize)."""
    return float(np.mean(np.square(x, dtype=np.float64))) or 1.0


def transfer_objective(backbone: Backbone, content01: np.ndarray, style01: np.ndarray, run: TransferRun,
                       upsampling: float = 1.0, tv_smooth: float = 0.0) -> objectives.Objective:
    """The total loss for one content and one style image (both [0, 1], batch of 1), with the run's
    weights and layers (see `Weights`).

    TV is smoothed at 0 by `tv_smooth` (see objectives.total_variation). A coarse stage whose result
    will be upsampled `upsampling` times weighs TV as the full-size image will have it. With
    `run.fast` the targets come from the network in the fast precision, as the image will be
    optimized through it, and Gram products are in it too.
    """
    weights = run.chosen_weights()
    net = network(backbone, list(run.style_layers) + list(run.content_layers), run.fast)
    style_features = net(style01[None])
    content_features = net(content01[None])
    precision = fast_dtype(run.fast)
    grams = {layer: gram(style_features[layer], precision).numpy() for layer in run.style_layers}
    contents = {layer: content_features[layer].numpy() for layer in run.content_layers}
    total = (weights.style * style_loss(grams, weights.normalized, dtype=precision)
             + weights.content * content_loss(contents, weights.normalized))
    # per pixel, the upsampled image's TV falls by `upsampling`; summed over its pixels, it grows by it
    h, w = content01.shape[:2]
    tv = weights.tv / upsampling if weights.normalized else weights.tv * h * w * upsampling
    return total + tv * objectives.total_variation(smooth=tv_smooth)


# ---------------------------------------------------------------- the transfer


def style_transfer(backbone: Backbone, content: np.ndarray, style: np.ndarray, run: TransferRun = DEFAULT_RUN
                   ) -> Iterator[Stylized]:
    """Paint `content` (uint8) in the manner of `style` (uint8); yields progress every `run.every` steps.

    The fast path: coarse to fine (`run.stages`), L-BFGS on a TV smoothed at 0 (TV_SMOOTH), and the
    network in the fast precision (`model.network`; its Gram sums stay in float32: tests/test_style.py).
    Coarse stages weigh TV as the upsampled image will have it, so they approximate the full-size
    objective; the last stage is it.
    """
    run = run.checked()
    full = images.fit_for_network(content, run.size)
    plan = stage_plan(full.shape[:2], run.steps, run.stages)
    schedule = Schedule(every=run.every, optimizer=run.optimizer, lr=DEFAULT_LR[run.optimizer], seed=run.seed)
    begin = time.perf_counter()

    def run_stage(shape, stage_steps, previous):
        content01, style01 = prepare(full, style, shape, run.style_scale, run.keep_colors)
        objective = transfer_objective(backbone, content01, style01, run, full.shape[0] / shape[0], TV_SMOOTH)
        init = starting_image(run.start, content01, style01, previous, run.seed)
        return optimize(objective, pixels((1,) + shape, init=init, seed=run.seed),
                        network(backbone, objective.layers, run.fast), replace(schedule, steps=stage_steps))

    for snapshot in coarse_to_fine(plan, run_stage):
        picture = snapshot.images[0]
        shown = with_colors_of(images.resize(full, picture.shape[:2]), picture) if run.keep_colors else picture
        yield Stylized(snapshot.step, run.steps, time.perf_counter() - begin, [shown],
                       [f"{picture.shape[1]}×{picture.shape[0]}"],
                       {name: float(value[0]) for name, value in snapshot.losses.items()})


def prepare(content: np.ndarray, style: np.ndarray, shape, style_scale: float, keep_colors: bool):
    """Content at `shape` and style at `style_scale` × its long side, as [0, 1]; in luminance only
    (style luminance matched to the content's mean and spread) when the content keeps its colours."""
    content_at = images.resize(content, shape)
    style_at = images.fit_for_network(style, max(MIN_STAGE_SIDE, round(max(shape) * style_scale)))
    content01, style01 = images.to_float(content_at), images.to_float(style_at)
    if keep_colors:
        content_y, style_y = luminance(content01), luminance(style01)
        style_y = (style_y - style_y.mean()) / (style_y.std() + 1e-6) * content_y.std() + content_y.mean()
        content01, style01 = (np.repeat(np.clip(y, 0, 1)[..., None], 3, -1) for y in (content_y, style_y))
    return content01, style01


def starting_image(start: str, content01, style01, previous, seed: int):
    """The previous stage's result upsampled (see with_content_detail); else the content, the style
    or grey noise."""
    if previous is not None:
        upsampled = images.resize_float(images.to_float(previous[0]), content01.shape[:2])
        return (with_content_detail(upsampled, content01, previous.shape[1:3]) if start == "content"
                else upsampled)[None]
    if start == "content":
        return content01[None]
    if start == "style":
        return images.resize_float(style01, content01.shape[:2])[None]
    return None  # pixels() starts from grey with noise


def with_content_detail(upsampled01, content01, coarse_shape):
    """`upsampled01` plus CONTENT_DETAIL of the content's detail finer than `coarse_shape` holds.

    An upsampled result is blurred, and the deep content layer sees it: the finer stage started far
    above its own content loss, and its steps went into sharpening the picture again.
    """
    coarse = images.resize_float(images.resize_float(content01, coarse_shape), content01.shape[:2])
    return np.clip(upsampled01 + CONTENT_DETAIL * (content01 - coarse), 0.0, 1.0)


# ---------------------------------------------------------------- colour


YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], np.float32)


def luminance(image01: np.ndarray) -> np.ndarray:
    return image01 @ YIQ[0]


def with_colors_of(colour_source: np.ndarray, picture: np.ndarray) -> np.ndarray:
    """`picture`'s luminance with `colour_source`'s chroma (YIQ), both uint8 of the same size."""
    yiq = images.to_float(colour_source) @ YIQ.T
    yiq[..., 0] = luminance(images.to_float(picture))
    return images.to_uint8(yiq @ np.linalg.inv(YIQ).T)


# ---------------------------------------------------------------- the per-layer study


def style_per_layer(backbone: Backbone, content: np.ndarray, style: np.ndarray, run: TransferRun = DEFAULT_RUN,
                    layers=STYLE_LAYERS) -> Iterator[Stylized]:
    """The original project's study: one panel per layer, matching only that layer's Gram matrix (the
    run's size, at most PER_LAYER_SIZE, its steps, start and seed)."""
    run = run.checked()
    layers = check_layers(backbone, layers)
    size = PER_LAYER_SIZE.check(run.size)
    content01 = images.to_float(images.fit_for_network(content, size))
    style01 = images.to_float(images.fit_for_network(style, size))
    runs = [one_layer_run(backbone, layer, content01, style01, run) for layer in layers]
    begin = time.perf_counter()
    for latest in interleaved(runs):
        yield Stylized(max(s.step for s in latest), run.steps, time.perf_counter() - begin,
                       [s.images[0] for s in latest], list(layers),
                       {"style": float(latest[0].losses["style"][0])})


def one_layer_run(backbone: Backbone, layer: str, content01: np.ndarray, style01: np.ndarray, run: TransferRun):
    """Match one layer's Gram matrix alone; the loss is scaled so that the content photo scores 1."""
    net = network(backbone, [layer])
    style_gram, content_gram = (gram(net(x[None])[layer]).numpy() for x in (style01, content01))
    scale = 1.0 / max(float(np.mean((content_gram - style_gram) ** 2)), 1e-12)
    objective = scale * style_loss({layer: style_gram}) + PER_LAYER_TV * objectives.total_variation()
    init = starting_image(run.start, content01, style01, None, run.seed)
    return optimize(objective, pixels((1,) + content01.shape[:2], init=init, seed=run.seed), net,
                    Schedule(run.steps, run.every, "lbfgs", 1.0, run.seed))
