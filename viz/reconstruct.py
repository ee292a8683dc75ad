"""Feature inversion: rebuild a photo from one layer's features, starting from flat grey.

Mahendran & Vedaldi, "Understanding deep image representations by inverting them" (CVPR 2015):
minimize ‖Φ(x) − Φ(x₀)‖² / ‖Φ(x₀)‖² plus a total-variation (β = 2) and an α-norm prior. The
optimization sees the photo only through its features. Several layers run side by side, each as
its own run of the shared loop, so each network is cut at its own layer; from block3 on it computes
in the process's fast precision (FLOAT32_BLOCKS).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from . import images
from .engine import objectives
from .errors import SEED, Range
from .knobs import Knobs, choice, knob
from .model import Backbone, check_layers, network
from .engine.optimize import OPTIMIZERS, Schedule, interleaved, optimize
from .engine.param import pixels

EVERY_BLOCK = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3")


# The default run ends well within the time limit on the slowest CPU class (benchmarks/latency.py).
STEPS = Range("Steps", 1, 1000, 120)
SIZE = Range("Image size", 64, 384, 224, step=16, label="Image size (long side, px)")
SMOOTHNESS_SCALE = Range("Smoothness", 0.0, 10.0, 1.0, step=0.1, label="Smoothness (× total variation)")
ALPHA = Range("Alpha-norm weight", 0.0, 10.0, 0.0, step=0.1)
LR = Range("Learning rate", 0.0, 10.0, 0.0)  # 0: the optimizer's own (DEFAULT_LR)


@dataclass(frozen=True)
class ReconstructionRun(Knobs):
    """A reconstruction's knobs: which layers (side by side), how long, how large, its priors (the
    per-layer TV scaled by `smoothness`, the α-norm), its optimizer and step size (0: the optimizer's
    own), its seed; and how often it reports. The defaults: past these steps the picture hardly changes."""

    layers: tuple[str, ...] = ("block3_conv3",)
    steps: int = knob(STEPS)
    size: int = knob(SIZE)
    smoothness: float = knob(SMOOTHNESS_SCALE)
    alpha: float = knob(ALPHA)
    optimizer: str = choice("Optimizer", OPTIMIZERS, "lbfgs")
    lr: float = knob(LR)
    seed: int = knob(SEED)
    every: int = 10


DEFAULT_RUN = ReconstructionRun()
# Total variation weight by depth: detail survives in shallow layers, deep ones need the prior.
SMOOTHNESS = {"block1": 0.03, "block2": 0.3, "block3": 1.5, "block4": 1.5, "block5": 1.5}
HEAD_SMOOTHNESS = 1.5
# Layers from block3 on run the network in the fast precision: bfloat16, where it is chosen, inverts
# them as well as float32 (tests/test_reconstruct.py); block1-2 keep float32, whose fine detail
# bfloat16 blurs (lower PSNR: benchmarks/reconstruction.py).
FLOAT32_BLOCKS = ("block1", "block2")
# A run ends once its loss fell by under 1 % over the last 20 steps: shallow layers then hardly change
# any more (their PSNR stays), deep layers keep going.
CONVERGED = 0.01


@dataclass
class Reconstruction:
    """One streamed state of a reconstruction run (one entry per layer in the lists)."""

    step: int
    steps: int
    seconds: float
    target: np.ndarray  # the photo as the network saw it (uint8)
    layers: list[str]
    images: list[np.ndarray]  # uint8, same size as target
    feature_error: list[float]  # ‖Φ(x) − Φ(x₀)‖ / ‖Φ(x₀)‖
    psnr: list[float]  # dB against the target
    loss: list[float]  # the total being minimized


def reconstruct(backbone: Backbone, photo: np.ndarray, run: ReconstructionRun = DEFAULT_RUN
                ) -> Iterator[Reconstruction]:
    """Rebuild `photo` (uint8 RGB, long side `run.size`) from each layer's features; yields progress
    every `run.every` steps. From fc layers the network sees it squashed to the classifier's square."""
    run = run.checked()
    layers = check_layers(backbone, run.layers)
    target = images.fit_for_network(photo, run.size)
    runs = [invert(backbone, target, layer, run) for layer in layers]
    start = time.perf_counter()
    for latest in interleaved(runs):
        yield progress(target, layers, run.steps, latest, time.perf_counter() - start)


def smoothness_for(layer: str) -> float:
    return SMOOTHNESS.get(layer.split("_")[0], HEAD_SMOOTHNESS)


def invert(backbone: Backbone, target: np.ndarray, layer: str, run: ReconstructionRun):
    """One layer's run of the shared loop, from grey (with a whisper of noise), never from the photo."""
    net = network(backbone, [layer], fast=layer.split("_")[0] not in FLOAT32_BLOCKS)
    goal = np.asarray(net(images.to_float(target)[None])[layer])
    objective = objectives.feature_match(layer, goal, name="features")
    objective += run.smoothness * smoothness_for(layer) * objectives.total_variation(power=2.0, chroma=3.0)
    if run.alpha:
        objective += run.alpha * objectives.alpha_norm()
    h, w = target.shape[:2]
    schedule = Schedule(run.steps, run.every, run.optimizer, run.lr or None, run.seed, tolerance=CONVERGED)
    return optimize(objective, pixels((1, h, w), seed=run.seed, sd=0.01), net, schedule)


def progress(target, layers, steps, snapshots, seconds) -> Reconstruction:
    pictures = [s.images[0] for s in snapshots]
    return Reconstruction(
        step=max(s.step for s in snapshots), steps=steps, seconds=seconds, target=target,
        layers=list(layers), images=pictures,
        feature_error=[float(np.sqrt(s.losses["features"][0])) for s in snapshots],
        psnr=[psnr(p, target) for p in pictures],
        loss=[float(s.total[0]) for s in snapshots],
    )


def psnr(image: np.ndarray, reference: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two uint8 images."""
    mse = np.mean((image.astype(np.float64) - reference.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))
