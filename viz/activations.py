"""What VGG16 sees: one feature-map grid per layer, the block5 heat map, the classifier's guess."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from . import images
from .errors import InputError, Range, quoted
from .knobs import Knobs, choice, knob
from .model import LAST_CONV, Backbone, conv_layers, features, imagenet_labels, pool_layers
from .runtime import two_at_a_time

ORDERS = ("mean activation", "channel index")
VIEWS = ("feature maps", "overlay on image")
GRID_WIDTH = 1100  # px budget of a grid's width: keeps 13 grids light in a browser
MAX_CELL, MIN_CELL = 64, 24
CHANNELS = Range("Channels per layer", 1, 512, 64)  # 64: an 8×8 grid
RESOLUTION = Range("Resolution", 128, 448, 224, step=16, label="Resolution (long side, px)")


@dataclass(frozen=True)
class ActivationsRun(Knobs):
    """What the Activations view shows: which layers (default: every conv layer; each once), how many
    channels a grid, in which order, as maps or laid over the photo, at what resolution (long side)."""

    layers: tuple[str, ...] = ()
    top: int = knob(CHANNELS)
    order: str = choice("Channel order", ORDERS)
    view: str = choice("View", VIEWS)
    resolution: int = knob(RESOLUTION)


DEFAULT_RUN = ActivationsRun()


@dataclass
class Activations:
    """Everything the Activations tab shows, as numpy images and plain values."""

    photo: np.ndarray  # as the network saw it (uint8)
    grids: list[tuple[np.ndarray, str]]  # (grid image, caption) per layer
    heatmap: np.ndarray  # block5 channel sum over the photo
    top5: list[tuple[str, float]] | None  # (label, probability), None without a classifier
    fc2: np.ndarray | None  # the 4096 fc2 values as a 64×64 picture


def activations(backbone: Backbone, photo: np.ndarray, run: ActivationsRun = DEFAULT_RUN) -> Activations:
    """Feature maps of the run's layers for a uint8 RGB photo (fitted to its resolution), a grid each."""
    run = run.checked()
    layers = check_map_layers(backbone, run.layers)
    photo = images.fit_for_network(photo, run.resolution)
    maps = features(backbone, images.to_float(photo)[None], layers + [LAST_CONV])
    overlay = photo if run.view == VIEWS[1] else None
    grids = two_at_a_time(lambda name: layer_grid(name, maps[name][0], run.top, run.order, overlay), layers)
    heat = block_heatmap(photo, maps[LAST_CONV][0])
    top5, fc2 = classify(backbone, photo) if backbone.has_classifier else (None, None)
    return Activations(photo, grids, heat, top5, fc2)


def check_map_layers(backbone: Backbone, layers) -> list[str]:
    """The conv and pooling layers asked for, each once, in the network's order (default: every conv
    layer); an InputError for any other name. At most one grid per layer, however the list repeats."""
    spatial = conv_layers(backbone) + pool_layers(backbone)
    asked = [layers] if isinstance(layers, str) else list(layers or conv_layers(backbone))
    unknown = [name for name in asked if name not in spatial]
    if unknown:
        raise InputError(f"{quoted(unknown[0])} has no feature maps to show; choose conv or pooling layers "
                         f"such as block3_conv3 or block2_pool.")
    wanted = set(asked)
    return [name for name in backbone.layer_names if name in wanted]


def layer_grid(name: str, maps: np.ndarray, top: int, order: str, photo=None) -> tuple[np.ndarray, str]:
    """One layer's (H, W, C) maps as a captioned grid of its `top` channels."""
    h, w, channels = maps.shape
    chosen, columns, cell = grid_layout(maps, top, order)
    cells = images.normalize(resize_maps(maps[..., chosen], cell), axis=(1, 2))
    if photo is None:
        pictures = images.colorize(cells, levels=255)  # with the separator, 256 colours: a palette PNG
    else:
        pictures = images.heat_overlay(images.resize(photo, cell), cells)
    how = "by mean activation" if order == ORDERS[0] else "by index"
    silent = int((maps.max(axis=(0, 1)) <= 0).sum())
    caption = (f"{name} · {h}×{w}×{channels} · {len(chosen)} of {channels} channels {how}"
               + (f" · {silent} silent" if silent else ""))
    return images.tile(pictures, columns), caption


def grid_layout(maps: np.ndarray, top: int, order: str) -> tuple[np.ndarray, int, tuple[int, int]]:
    """How a layer's grid is laid out: the channels shown in order, the columns, a cell's (h, w)."""
    chosen = rank_channels(maps, order)[:top]
    columns = int(np.ceil(np.sqrt(len(chosen))))
    return chosen, columns, cell_shape(*maps.shape[:2], columns)


def channel_at(backbone: Backbone, photo: np.ndarray, layer: str, run: ActivationsRun, x: int, y: int) -> int | None:
    """The channel drawn at pixel (x, y) of `layer`'s grid for this photo (laid out as `layer_grid`
    lays it out, with the run's channels, order and resolution), or None between cells: how a click
    on a grid becomes a unit."""
    run = run.checked()
    photo = images.fit_for_network(photo, run.resolution)
    maps = features(backbone, images.to_float(photo)[None], [layer])[layer][0]
    chosen, columns, (h, w) = grid_layout(maps, run.top, run.order)
    gap = images.GRID_GAP
    row, column = (y - gap) // (h + gap), (x - gap) // (w + gap)
    inside = 0 <= column < columns and (y - gap) % (h + gap) < h and (x - gap) % (w + gap) < w
    index = row * columns + column
    return int(chosen[index]) if inside and 0 <= index < len(chosen) else None


def rank_channels(maps: np.ndarray, order: str) -> np.ndarray:
    """Channel indices, strongest mean activation first, or in index order."""
    if order not in ORDERS:
        raise InputError(f"Unknown channel order {quoted(order)}; use one of {ORDERS}.")
    if order == ORDERS[1]:
        return np.arange(maps.shape[-1])
    return np.argsort(-maps.mean(axis=(0, 1)), kind="stable")


def cell_shape(h: int, w: int, columns: int) -> tuple[int, int]:
    """Thumbnail size of one channel: the grid fits GRID_WIDTH, maps keep their aspect ratio."""
    side = int(np.clip(GRID_WIDTH // columns, MIN_CELL, MAX_CELL))
    scale = side / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def resize_maps(maps: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W, C) maps as (C, h, w), resized with antialiasing (smooth up, averaged down); all channels
    in one image (faster than a batch of one-channel images)."""
    resized = tf.image.resize(maps[None], shape, method="bilinear", antialias=True).numpy()[0]
    return np.transpose(resized, (2, 0, 1))


def block_heatmap(photo: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """Where the last conv block responds: its channel sum, upsampled over the photo."""
    total = maps.sum(axis=-1)[None, ..., None]
    heat = tf.image.resize(total, photo.shape[:2], method="bicubic").numpy()[0, ..., 0]
    return images.heat_overlay(photo, images.normalize(np.maximum(heat, 0)))


def classify(backbone: Backbone, photo: np.ndarray, k: int = 5):
    """Top-k ImageNet labels with softmax probabilities, and fc2 as a 64×64 picture."""
    out = features(backbone, images.to_float(photo)[None], ["fc2", "predictions"])  # squashed to 224²
    probs = tf.nn.softmax(out["predictions"][0]).numpy()
    labels = imagenet_labels()
    best = np.argsort(-probs)[:k]
    fc2 = out["fc2"][0].reshape(64, 64)
    picture = np.kron(images.colorize(images.normalize(fc2)), np.ones((4, 4, 1), np.uint8))
    return [(labels[i], float(probs[i])) for i in best], picture
