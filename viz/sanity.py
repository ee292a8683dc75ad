"""Does a map depend on what the network learned? The cascading randomisation test of Adebayo et al.
("Sanity checks for saliency maps", 2018): redraw the weights from the top block down, one block at
a time, and after each compare every method's map with its map on the trained network (Spearman's
rank correlation, and SSIM). A map that stays the same is about the photo, not the network.

One randomised copy of the network is kept per process and redrawn in place (seeded), so a check
costs its maps' forward and backward passes and no more memory; its maps are computed in float32.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Iterator

import keras
import numpy as np
import tensorflow as tf
from scipy.stats import spearmanr

from .attribution import Attribution, AttributionRun, attribution, checked_methods
from .model import Backbone

FLAGGED = 0.5  # a map whose rank correlation stays above this once every block is redrawn hardly depends on them
BLOCKS = ("block5", "block4", "block3", "block2", "block1")
HEAD = "classifier"
HEAD_INPUT = (7, 7, 512)  # what the classifier reads: block5_pool of a 224×224 photo


@dataclass
class Sanity:
    """One state of the check: the stages redrawn so far (from the top), each method's rank
    correlation and SSIM with its trained map after each, and its maps after the latest."""

    stages: list[str]
    planned: list[str]
    seconds: float
    trained: Attribution
    correlations: dict[str, list[float]]  # method -> one per stage so far
    ssims: dict[str, list[float]]
    maps: dict[str, np.ndarray]  # the latest stage's

    def flagged(self) -> list[str]:
        """The methods whose map still looks like the trained one with every block redrawn."""
        if len(self.stages) < len(self.planned):
            return []
        return [m for m, values in self.correlations.items() if values[-1] >= FLAGGED]


def sanity(backbone: Backbone, photo: np.ndarray, run: AttributionRun) -> Iterator[Sanity]:
    """The run's methods' maps for its first target on the trained network, then after redrawing each
    block from the top (the classifier first, for a class), a Sanity after each stage."""
    begin = time.perf_counter()
    run = replace(run.checked(), methods=tuple(checked_methods(run.methods)))
    copy = randomised_copy(backbone)
    restore(copy, backbone)
    trained = attribution(copy, photo, replace(run, top=1))[0]
    planned = stages_for(backbone, trained)
    fixed = replace(run, target=trained.target.text)
    found = Sanity([], planned, 0.0, trained, {m: [] for m in trained.maps}, {m: [] for m in trained.maps}, {})
    rng = np.random.default_rng(run.seed)
    for stage in planned:
        redraw(copy, stage, rng)
        redrawn = attribution(copy, photo, fixed)[0]
        found.stages.append(stage)
        for method, heat in redrawn.maps.items():
            found.correlations[method].append(rank_correlation(trained.maps[method], heat))
            found.ssims[method].append(ssim(trained.maps[method], heat))
        found.maps, found.seconds = redrawn.maps, time.perf_counter() - begin
        yield found


def stages_for(backbone: Backbone, trained: Attribution) -> list[str]:
    """The blocks to redraw, from the top: only those at or below the deepest layer the maps read
    (the target's, or the CAM layer's), with the classifier first for a class."""
    names = backbone.layer_names
    deepest = max(names.index(trained.target.layer), names.index(trained.layer))
    reached = {name.split("_")[0] for name in names[:deepest + 1]}
    return ([HEAD] if trained.target.kind == "class" else []) + [b for b in BLOCKS if b in reached]


@lru_cache(maxsize=1)
def randomised_copy(backbone: Backbone) -> Backbone:
    """The one copy of the network whose weights are redrawn (its classifier too, where there is one)."""
    conv = keras.models.clone_model(backbone.convolutional)
    head = tuple(layer.__class__.from_config(layer.get_config()) for layer in backbone.head)
    x = keras.Input(HEAD_INPUT)
    for layer in head:  # built, so that its weights exist
        x = layer(x)
    return Backbone(conv, head, backbone.source, backbone.note + " (randomised)", copyable=False)


def restore(copy: Backbone, backbone: Backbone) -> None:
    """The copy's weights set back to the trained network's."""
    for mine, theirs in zip(copy.layers, backbone.layers):
        mine.set_weights(theirs.get_weights())


def redraw(copy: Backbone, stage: str, rng: np.random.Generator) -> None:
    """Every layer with weights in `stage` (a block, or the classifier) redrawn as at initialization
    (He normal kernels, zero biases: ReLU activations stay alive through the untrained layers)."""
    for layer in copy.layers:
        in_stage = layer.name.startswith(stage + "_") if stage != HEAD else layer in copy.head
        if in_stage and layer.get_weights():
            kernel, bias = layer.get_weights()
            fan_in = int(np.prod(kernel.shape[:-1]))
            layer.set_weights([rng.normal(0, np.sqrt(2 / fan_in), kernel.shape).astype(np.float32),
                               np.zeros_like(bias)])


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two maps (ties ranked alike; 0 where either is flat: nothing to rank)."""
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(spearmanr(a.ravel(), b.ravel()).statistic)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """The structural similarity of two [0, 1] maps."""
    return float(tf.image.ssim(tf.constant(a[..., None], tf.float32), tf.constant(b[..., None], tf.float32), 1.0))
