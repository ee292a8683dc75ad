"""The Microscope's pictures and measurements of one channel, without any cache: how a channel's
picture is made (TileSettings) and made for a batch of channels, where a unit fires on a photo, and
the photos' patches where it fires most. `viz.atlas` keeps them in the picture cache and assembles
the pages. Inspired by OpenAI's Microscope (2020), which showed VGG19 and others this way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import images
from .activations import block_heatmap
from .errors import InputError, quoted
from .model import Backbone, conv_layers, features, receptive_field
from .targets import parse_target
from .visualize import VisualizationRun, visualize

# The unit page looks at a photo this large at most (long side, px): uploads may reach 40 megapixels,
# and the network's time and memory grow with the pixels it sees.
PHOTO_SIDE = 448


@dataclass(frozen=True)
class TileSettings:
    """How a channel's picture is made: the Lucid preset, coarse to fine from noise."""

    size: int = 96
    steps: int = 128
    preset: str = "lucid"
    seed: int = 0


TILE = TileSettings()
UNIT = TileSettings(size=160, steps=160)  # the unit page's large pictures (seeds 0 and 1)
EXTRAS = TileSettings(size=128, steps=128)  # its diverse pictures and its negative
CARICATURE = VisualizationRun(steps=48, size=224, octaves=2, every=48)  # its DeepDream of the unit, from the photo


def render(backbone: Backbone, layer: str, channels: list[int], settings: TileSettings) -> list[np.ndarray]:
    """Feature visualizations of several channels of a layer, one batch."""
    run = VisualizationRun(tuple(f"{layer}:{c}" for c in channels), settings.steps, settings.size, settings.preset,
                           seed=settings.seed, every=settings.steps)
    *_, final = visualize(backbone, run)
    return final.images


def parse_unit(backbone: Backbone, text: str) -> tuple[str, int]:
    """`layer:channel` of a conv layer, or an InputError that says so."""
    target = parse_target(backbone, str(text or ""))
    if target.kind != "channel" or target.layer not in conv_layers(backbone):
        raise InputError(f"A unit is a conv channel written layer:channel, e.g. block4_conv3:42; got {quoted(text)}.")
    return target.layer, int(target.unit)


def activation_map(backbone: Backbone, layer: str, channel: int, photo: np.ndarray) -> tuple[float, np.ndarray]:
    """The channel's mean activation on the photo, and its map laid over the photo."""
    maps = features(backbone, images.to_float(photo)[None], [layer])[layer][0, ..., channel:channel + 1]
    return float(maps.mean()), block_heatmap(photo, maps)


def top_patches(backbone: Backbone, layer: str, channel: int, photos: dict[str, np.ndarray], count: int,
                side: int = 224) -> list[tuple[np.ndarray, str, float]]:
    """The `count` strongest activations of the channel over the photos (at most two per photo, not
    overlapping), each as the crop of its receptive field: (crop, photo name, activation)."""
    size, stride, offset = receptive_field(backbone, layer)
    found = []
    for name, photo in photos.items():
        picture = images.fit_for_network(photo, side)
        values = features(backbone, images.to_float(picture)[None], [layer])[layer][0, ..., channel]
        for i, j in strongest(values, 2, max(1, size // (2 * stride))):
            centre = (offset + i * stride, offset + j * stride)
            found.append((images.crop_square(picture, centre, size), name, float(values[i, j]), (i, j)))
    found.sort(key=lambda item: -item[2])
    return [(crop, name, value) for crop, name, value, _ in found[:count]]


def strongest(values: np.ndarray, count: int, apart: int) -> list[tuple[int, int]]:
    """Positions of the `count` largest values, each at least `apart` cells from those before it."""
    order = np.dstack(np.unravel_index(np.argsort(-values, axis=None), values.shape))[0]
    chosen: list[tuple[int, int]] = []
    for i, j in order:
        if all(max(abs(i - a), abs(j - b)) >= apart for a, b in chosen):
            chosen.append((int(i), int(j)))
            if len(chosen) == count:
                break
    return chosen
