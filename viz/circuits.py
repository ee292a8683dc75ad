"""How a unit is built: the channels of the conv layer below that excite or inhibit it most (from the
weights: each input channel's 3×3 slice of the unit's kernel, its sum and its spatial pattern), the
channels of the layer above that use it most, and the layer two below through expanded weights (the
two kernels composed, the ReLU between ignored); then checked by ablation, zeroing each listed input
in one batched forward pass. After Olah et al., "Zoom In: An Introduction to Circuits", and Voss et
al., "Visualizing Weights" (Distill, 2020-21).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import tensorflow as tf

from . import images
from .model import INPUT, Backbone, conv_layers, layer_by_name, preprocess
from .microscope import parse_unit

COLOURS = ("red", "green", "blue")  # block1_conv1's inputs: the photo's colour channels
ABLATION_BATCH = 64  # copies of a layer's input run through the layers above at once


@dataclass(frozen=True)
class Link:
    """One connection of a unit: the other end (`layer:channel`, or a colour), its weight (the sum of
    the kernel slice), that slice (its spatial pattern) and, for inputs, how much the unit's response
    changes when this input is zeroed (relative, by picture name)."""

    unit: str
    weight: float
    pattern: np.ndarray
    change: dict[str, float] = field(default_factory=dict)

    @property
    def channel(self) -> int | None:
        return int(self.unit.split(":")[1]) if ":" in self.unit else None


@dataclass(frozen=True)
class Circuit:
    """A unit's inputs (strongest excitatory first, then the strongest inhibitory), its outputs (the
    units above that it excites most, then those it inhibits most) and the layer two below by
    expanded weights, with what each group passes through (a pooling, two kernels)."""

    unit: str
    inputs: tuple[Link, ...]
    outputs: tuple[Link, ...]
    below: tuple[Link, ...]
    notes: dict[str, str]  # "inputs", "outputs", "below" -> how they connect, for captions


def neighbours(backbone: Backbone, layer: str) -> tuple[str | None, str | None]:
    """The conv layers just below and just above `layer` (None at either end)."""
    convs = conv_layers(backbone)
    at = convs.index(layer)
    return (convs[at - 1] if at else None), (convs[at + 1] if at + 1 < len(convs) else None)


def pooled_between(backbone: Backbone, lower: str, upper: str) -> bool:
    """Whether a pooling layer lies between two conv layers."""
    names = backbone.layer_names
    return any(n.endswith("_pool") for n in names[names.index(lower) + 1:names.index(upper)])


def kernel(backbone: Backbone, layer: str) -> np.ndarray:
    """A conv layer's kernel, (3, 3, inputs, outputs), float32."""
    return np.asarray(layer_by_name(backbone, layer).get_weights()[0], np.float32)


def ranked(weights: np.ndarray, excite: int, inhibit: int) -> list[int]:
    """The `excite` largest positive weights' indices, then the `inhibit` most negative ones."""
    order = np.argsort(-weights, kind="stable")
    up = [int(i) for i in order[:excite] if weights[i] > 0]
    down = [int(i) for i in order[::-1][:inhibit] if weights[i] < 0]
    return up + down


def links(layer: str, channels: list[int], patterns: np.ndarray) -> tuple[Link, ...]:
    """Links to `channels` of `layer`, each with its pattern (patterns[..., channel])."""
    return tuple(Link(f"{layer}:{c}", float(patterns[..., c].sum()), patterns[..., c]) for c in channels)


def expanded(backbone: Backbone, layer: str, channel: int) -> np.ndarray:
    """The unit's expanded weights to the conv layer two below, (height, width, channels there): the
    unit's kernel composed with the kernel below it, as if the ReLU between were not there; across a
    pooling, a tap spreads evenly over the 2×2 window it pools (the max taken as an average)."""
    lower, _ = neighbours(backbone, layer)
    two_below = neighbours(backbone, lower)[0]
    upper = kernel(backbone, layer)[..., channel]  # (3, 3, middle)
    upper = spread(upper) if pooled_between(backbone, lower, layer) else upper
    below = kernel(backbone, lower)  # (3, 3, inputs, middle)
    total = np.zeros((upper.shape[0] + 2, upper.shape[1] + 2, below.shape[2]), np.float32)
    for i in range(upper.shape[0]):
        for j in range(upper.shape[1]):
            total[i:i + 3, j:j + 3] += below @ upper[i, j]
    return spread(total) if pooled_between(backbone, two_below, lower) else total


def spread(weights: np.ndarray) -> np.ndarray:
    """Weights on a pooled grid as weights on the grid before a 2×2 pooling taken as an average."""
    return np.repeat(np.repeat(weights, 2, axis=0), 2, axis=1) / 4.0


def circuit(backbone: Backbone, unit: str, count: int = 8, inhibit: int = 4) -> Circuit:
    """The unit's circuit from the weights alone: `count` inputs that excite it and `inhibit` that
    inhibit it, as many outputs each way, and half as many each way in the layer two below."""
    layer, channel = parse_unit(backbone, unit)
    lower, upper = neighbours(backbone, layer)
    own = kernel(backbone, layer)[..., channel]
    notes = {}
    if lower is None:
        inputs = tuple(Link(name, float(own[..., c].sum()), own[..., c]) for c, name in enumerate(COLOURS))
        notes["inputs"] = "the photo's colours"
    else:
        inputs = links(lower, ranked(own.sum(axis=(0, 1)), count, inhibit), own)
        notes["inputs"] = f"{lower}" + (" through max-pooling" if pooled_between(backbone, lower, layer) else "")
    outputs: tuple[Link, ...] = ()
    if upper is not None:
        above = kernel(backbone, upper)[:, :, channel, :]  # how every unit above reads this one
        outputs = links(upper, ranked(above.sum(axis=(0, 1)), count, inhibit), above)
        notes["outputs"] = f"{upper}" + (" through max-pooling" if pooled_between(backbone, layer, upper) else "")
    below: tuple[Link, ...] = ()
    two_below = neighbours(backbone, lower)[0] if lower else None
    if two_below is not None:
        weights = expanded(backbone, layer, channel)
        below = links(two_below, ranked(weights.sum(axis=(0, 1)), count // 2, inhibit // 2), weights)
        notes["below"] = (f"{two_below}, expanded weights through {lower} (the kernels multiplied, the ReLU "
                          "between ignored" + (", max-pooling taken as an average)" if
                                               pooled_between(backbone, two_below, layer) else ")"))
    return Circuit(f"{layer}:{channel}", inputs, outputs, below, notes)


# ---------------------------------------------------------------- ablation


def layer_input(backbone: Backbone, layer: str) -> str:
    """The name of the tensor a layer reads (the layer before it, or the input)."""
    names = [INPUT] + backbone.layer_names
    return names[names.index(layer) - 1]


def activations_at(backbone: Backbone, name: str, picture: np.ndarray) -> tf.Tensor:
    """The float32 output of layer `name` (or INPUT: the preprocessed picture) for one uint8 picture."""
    x = preprocess(images.to_float(picture)[None])
    for item in backbone.convolutional.layers[1:]:
        if name == INPUT:
            break
        x = item(x)
        if item.name == name:
            break
    return x


def responses(backbone: Backbone, start: str, layer: str, channel: int, batch: tf.Tensor) -> np.ndarray:
    """The unit's mean response for each of a batch of tensors at `start` (run through the layers
    after it, up to `layer`)."""
    names = [INPUT] + backbone.layer_names
    steps = backbone.convolutional.layers[1:][names.index(start):names.index(layer)]
    found = []
    for first in range(0, int(batch.shape[0]), ABLATION_BATCH):
        x = batch[first:first + ABLATION_BATCH]
        for item in steps:
            x = item(x)
        found.append(tf.reduce_mean(x[..., channel], axis=(1, 2)).numpy())
    return np.concatenate(found)


def ablation(backbone: Backbone, unit: str, start: str, channels: list[int], picture: np.ndarray) -> np.ndarray:
    """How the unit's mean response on `picture` changes, relative to its own, when each of `channels`
    of the tensor `start` (a layer at or below the unit's input) is zeroed: one batched pass (NaN
    where the unit does not respond to the picture at all)."""
    layer, channel = parse_unit(backbone, unit)
    base = activations_at(backbone, start, picture)
    keep = np.ones((len(channels) + 1, base.shape[-1]), np.float32)
    keep[np.arange(1, len(channels) + 1), channels] = 0.0
    batch = base * tf.constant(keep)[:, None, None, :]
    found = responses(backbone, start, layer, channel, batch)
    if not found[0] > 0:  # a unit silent on the picture: no relative change to speak of
        return np.full(len(channels), np.nan)
    return (found[1:] - found[0]) / found[0]


def checked(backbone: Backbone, found: Circuit, pictures: dict[str, np.ndarray]) -> Circuit:
    """The circuit with the ablation of each input and of each unit two below, on each picture (by
    name): their `change`."""
    layer, _ = parse_unit(backbone, found.unit)
    lower = neighbours(backbone, layer)[0]
    inputs = ablated(backbone, found.unit, layer_input(backbone, layer), found.inputs, pictures)
    below = ablated(backbone, found.unit, layer_input(backbone, lower), found.below, pictures) if found.below else ()
    return replace(found, inputs=inputs, below=below)


def ablated(backbone: Backbone, unit: str, start: str, found: tuple[Link, ...], pictures: dict[str, np.ndarray]
            ) -> tuple[Link, ...]:
    """`found` (channels of the tensor `start`) with how zeroing each changes the unit, on each picture
    the unit responds to (added to the figures they already have)."""
    channels = [link.channel for link in found if link.channel is not None]
    if not channels or not pictures:
        return found
    changes = {name: ablation(backbone, unit, start, channels, picture) for name, picture in pictures.items()}
    return tuple(replace(link, change=link.change | {name: float(change[k]) for name, change in changes.items()
                                                     if np.isfinite(change[k])}) for k, link in enumerate(found))


# ---------------------------------------------------------------- pictures


def pattern_picture(pattern: np.ndarray, side: int) -> np.ndarray:
    """A kernel slice as a picture about `side` px wide: red where it excites, blue where it inhibits,
    white at zero (scaled by its largest |weight|; each tap a square)."""
    scale = max(float(np.abs(pattern).max()), 1e-12)
    colours = images.colorize(pattern / scale * 0.5 + 0.5, "RdBu_r")
    repeat = max(1, side // pattern.shape[0])
    return np.repeat(np.repeat(colours, repeat, axis=0), repeat, axis=1)


def with_pattern(tile: np.ndarray, pattern: np.ndarray, share: float = 0.4) -> np.ndarray:
    """A unit's picture with its link's kernel pattern inset in the upper right corner, framed (the
    caption lies over the bottom)."""
    inset = pattern_picture(pattern, int(tile.shape[0] * share))
    framed = np.pad(inset, ((2, 2), (2, 2), (0, 0)), constant_values=40)
    shown = tile.copy()
    shown[:framed.shape[0], -framed.shape[1]:] = framed
    return shown
