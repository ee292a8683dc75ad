"""Class, channel and layer visualization by gradient ascent, several targets in one batch.

Targets: an ImageNet class by name (its pre-softmax logit; needs the classifier), a channel written
`layer:channel` (e.g. `block4_conv3:42`, works offline), or a whole layer (DeepDream). The "lucid"
preset follows Olah et al., "Feature Visualization" (Distill 2017): Fourier parametrization with
decorrelated colour, and robustness to padding, jitter, scaling and rotation. The "raw" preset is
plain gradient ascent on pixels. Starting from a photo amplifies what a layer sees in it (DeepDream),
over a few octaves of growing size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Iterator

import numpy as np
import tensorflow as tf

from . import images
from .engine import objectives, param, transforms
from .errors import SEED, Range
from .knobs import Knobs, choice, knob
from .model import Backbone, network, unit_weights
from .engine.optimize import Schedule, coarse_to_fine, optimize, scaled_shape, stage_plan, step_seed
from .targets import Target, parse_targets

STEPS = Range("Steps", 1, 1000)  # the defaults: a default run's (CHANNEL_RUN or CLASS_RUN)
SIZE = Range("Image size", 64, 384, step=16, label="Image size (px)")
OCTAVES = Range("Octaves", 1, 4, 3)  # from a photo (DeepDream): sizes growing by OCTAVE_SCALE
OCTAVE_SCALE = 1.4
# From noise, coarse to fine: (divisor of the size, share of the steps). Cheaper than as many
# full-size steps, and the half-size start gives larger, more coherent patterns (benchmarks/visualization.py).
NOISE_STAGES = ((2, 0.6), (4 / 3, 0.2), (1, 0.2))
PARAMETRIZATIONS = ("fourier", "pixels")
# The knobs of a look; their defaults are the lucid preset's.
LR = Range("Learning rate", 0.001, 0.5, 0.05, step=0.001)
JITTER = Range("Jitter", 0, 32, 8, label="Jitter (px)")
SCALE = Range("Scale", 0.0, 0.5, 0.1, step=0.01, label="Scale (±)")
ROTATE = Range("Rotation", 0.0, 45.0, 10.0, label="Rotation (±°)")
BLUR = Range("Blur", 0.0, 10.0, 0.0, step=0.1, label="Blur penalty")
TV = Range("Total variation", 0.0, 10.0, 0.0, step=0.1)


@dataclass(frozen=True)
class Look(Knobs):
    """How the pictures are parametrized ("fourier": decorrelated colour; or "pixels"), how fast they
    change, how they are transformed at each step (jitter in px, scale in 1 ± scale, rotation in ±°)
    and regularized (blur, total variation)."""

    parametrization: str = choice("Parametrization", PARAMETRIZATIONS)
    lr: float = knob(LR)
    jitter: int = knob(JITTER)
    scale: float = knob(SCALE)
    rotate: float = knob(ROTATE)
    blur: float = knob(BLUR)
    tv: float = knob(TV)


DEFAULT_PRESET = "lucid"
PRESETS = {
    DEFAULT_PRESET: Look(),
    "raw": Look(parametrization="pixels", lr=0.02, jitter=0, scale=0.0, rotate=0.0),
}
CUSTOM = "custom"  # the preset that takes its look's knobs as given


@dataclass(frozen=True)
class VisualizationRun(Knobs):
    """A visualization's knobs: its targets (classes, `layer:channel`, layers), how long and how large
    (px), its look (a preset, or `custom` with `look`'s knobs), the octaves of a start from a photo,
    the seed; how often it reports and whether the network computes in the fast precision."""

    targets: tuple[str, ...] = ()
    steps: int = knob(STEPS)
    size: int = knob(SIZE)
    preset: str = choice("Preset", (*PRESETS, CUSTOM), DEFAULT_PRESET)
    octaves: int = knob(OCTAVES)
    seed: int = knob(SEED)
    look: Look = Look()
    every: int = 16
    fast: bool = True

    def chosen_look(self) -> Look:
        """The preset's look, or (custom) `look` checked."""
        return self.look.checked() if self.preset == CUSTOM else PRESETS[self.preset]


# Channels work with any weights. A class runs the classifier's 224×224 head at every step whatever the
# picture's size, so its default is one class at 224 px with fewer steps. Both are sized to end on
# their own well within the time limit on the slowest CPU class (2 cores, AVX2, float32), every
# channel's picture still far above what photos make it do (benchmarks/visualization.py, latency.py).
CHANNEL_RUN = VisualizationRun(("block4_conv3:42", "block4_conv3:97", "block5_conv3:7"), steps=112, size=128)
CLASS_RUN = VisualizationRun(("goldfish",), steps=48, size=224)


def default_run(backbone: Backbone) -> VisualizationRun:
    """The default run for these weights: a class with the classifier, channels without it."""
    return CLASS_RUN if backbone.has_classifier else CHANNEL_RUN


@dataclass
class Visualization:
    """One streamed state: an image per target, with how strongly its target responds."""

    step: int
    steps: int
    seconds: float
    targets: list[Target]
    images: list[np.ndarray]  # uint8
    responses: list[float]  # mean pre-activation (channel, class logit) or root mean square (layer)
    probabilities: list[float | None]  # class targets, at the end: softmax under random jitter

    @property
    def measures(self) -> list[str]:
        """What each response is, in words."""
        return [MEASURES[t.kind] for t in self.targets]


def visualize(backbone: Backbone, run: VisualizationRun, start: np.ndarray | None = None) -> Iterator[Visualization]:
    """Images that excite each of the run's targets, one batch for all; yields progress every
    `run.every` steps.

    `start` (a uint8 photo) starts from that photo instead of noise; `run.octaves` > 1 then runs at
    growing sizes, each octave continuing from the last. Images keep `run.size` (or the photo's
    aspect) whatever the targets; the network resizes them to the classifier's square when a class is
    among them. The network runs in the process's fast precision unless told otherwise (`model.network`).
    """
    run = run.checked()
    chosen = parse_targets(backbone, run.targets)
    objective = build_objective(backbone, chosen, run.chosen_look())
    begin = time.perf_counter()
    for snapshot in pictures(backbone, objective, len(chosen), run, start):
        last = snapshot.step == run.steps
        yield Visualization(
            snapshot.step, run.steps, time.perf_counter() - begin, chosen, list(snapshot.images),
            [-float(v) for v in snapshot.losses["target"]],
            jittered_probabilities(backbone, chosen, snapshot.images, run.seed) if last else [None] * len(chosen))


def pictures(backbone: Backbone, objective: objectives.Objective, count: int, run: VisualizationRun,
             start: np.ndarray | None = None):
    """The loop every picture of what the network wants runs: `count` images optimized together for
    `objective` with the run's look (Adam), steps, size and seed, coarse to fine from noise, or over
    `run.octaves` from a photo; yields the loop's snapshots every `run.every` steps."""
    look = run.chosen_look()
    net = network(backbone, objective.layers, run.fast)
    robustness = make_transform(look)
    if start is not None:
        start = images.fit_for_network(start, run.size)
    shape = (images.snapped(run.size),) * 2 if start is None else start.shape[:2]
    schedule = Schedule(every=run.every, lr=look.lr, seed=run.seed)

    def run_stage(stage_shape, stage_steps, previous):
        init = starting_point(start if previous is None else previous, stage_shape, count)
        return optimize(objective, make_param(look, count, stage_shape, init, run.seed), net,
                        replace(schedule, steps=stage_steps), robustness)

    plan = (octave_plan(shape, run.steps, run.octaves) if start is not None
            else stage_plan(shape, run.steps, NOISE_STAGES))
    yield from coarse_to_fine(plan, run_stage)


DIVERSITY_LAYER = "block2_conv2"  # textures differ there before the unit's own layer (Lucid used a lower layer)


DIVERSITY = 0.4  # the diversity term's weight, in units of the channel's response to its ordinary picture


def diverse(backbone: Backbone, unit: Target, ordinary: np.ndarray, count: int, run: VisualizationRun
            ) -> list[np.ndarray]:
    """`count` pictures of one channel pushed apart by the diversity term, weighed against the channel's
    response to its `ordinary` picture (a picture made without the term): the different things a
    unit responds to, each still far above what photos make it do."""
    source, weights, bias = unit_weights(backbone, unit.layer, unit.unit)
    target = objectives.unit(source, weights, bias, name="target")
    seen = network(backbone, [source])(images.to_float(ordinary)[None])
    weight = DIVERSITY * max(-float(target(seen, None)["target"][0]), 1e-3)
    objective = target + weight * objectives.diversity(DIVERSITY_LAYER)
    *_, final = pictures(backbone, objective, count, replace(run, every=run.steps))
    return list(final.images)


def negative(backbone: Backbone, unit: Target, run: VisualizationRun) -> np.ndarray:
    """The picture a channel responds to least (its pre-activation minimized)."""
    source, weights, bias = unit_weights(backbone, unit.layer, unit.unit)
    objective = -objectives.unit(source, weights, bias, name="target")
    *_, final = pictures(backbone, objective, 1, replace(run, every=run.steps))
    return final.images[0]


MEASURES = {"class": "logit", "channel": "mean response", "layer": "RMS"}  # what build_objective raises


def build_objective(backbone: Backbone, targets: list[Target], look: Look) -> objectives.Objective:
    terms = []
    for item, target in enumerate(targets):
        if target.unit is None:
            terms.append(objectives.layer_rms(target.layer, item, name="target"))
        else:
            source, weights, bias = unit_weights(backbone, target.layer, target.unit)
            terms.append(objectives.unit(source, weights, bias, item, name="target"))
    total = sum(terms[1:], terms[0])
    if look.tv:
        total += look.tv * objectives.total_variation()
    if look.blur:
        total += look.blur * objectives.blur_penalty()
    return total


def make_transform(look: Look):
    """The look's robustness transforms (Lucid's), or None when they do nothing."""
    if not (look.jitter or look.scale or look.rotate):
        return None
    return transforms.lucid(look.jitter, (1 - look.scale, 1 + look.scale), look.rotate)


def octave_plan(shape: tuple[int, int], steps: int, octaves: int) -> list[tuple[tuple[int, int], int]]:
    """(shape, steps) per octave, smallest first, ending at `shape`; the steps shared out evenly."""
    plan = []
    for k in range(octaves):
        factor = OCTAVE_SCALE ** (octaves - 1 - k)
        share = steps // octaves + (1 if k < steps % octaves else 0)
        if share:
            plan.append((scaled_shape(shape, factor), share))
    return plan


def starting_point(pictures, shape: tuple[int, int], count: int):
    """None (noise), or [0, 1] images at `shape` from a photo or the previous octave's images."""
    if pictures is None:
        return None
    pictures = np.broadcast_to(pictures, (count,) + np.shape(pictures)[-3:]) if np.ndim(pictures) == 3 else pictures
    return np.stack([images.to_float(images.resize(np.ascontiguousarray(p), shape)) for p in pictures])


def make_param(look: Look, count: int, shape: tuple[int, int], init, seed: int):
    make = param.fourier if look.parametrization == "fourier" else param.pixels
    return make((count,) + tuple(shape), init=init, seed=seed)


def jittered_probabilities(backbone: Backbone, targets: list[Target], pictures, seed: int, copies: int = 8):
    """Each class target's softmax probability, averaged over `copies` of its image, each under its own
    random Lucid transform (how robustly the picture shows the class)."""
    if not any(t.kind == "class" for t in targets):
        return [None] * len(targets)
    net = network(backbone, ["predictions"])
    result = []
    for target, picture in zip(targets, pictures):
        if target.kind != "class":
            result.append(None)
            continue
        seen = jittered_copies(images.to_float(picture), copies, seed)
        result.append(float(tf.nn.softmax(net(seen)["predictions"]).numpy()[:, target.unit].mean()))
    return result


def jittered_copies(picture01: np.ndarray, copies: int, seed: int) -> tf.Tensor:
    """`copies` of a [0, 1] image, each under a different random Lucid transform (one draw per copy)."""
    robustness, picture = make_transform(PRESETS[DEFAULT_PRESET]), tf.constant(picture01[None], tf.float32)
    return tf.concat([robustness(picture, step_seed(seed, k)) for k in range(copies)], axis=0)
