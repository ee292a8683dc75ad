"""Loss terms that add up: every objective is a loss to minimize, one value per image of the batch.

An `Objective` is a weighted sum of named terms. Each term maps (features by layer, images in
[0, 1]) to a (B,) tensor; `a + b`, `3 * a` and `-a` build new objectives (Lucid's objectives, with
one sign convention). Regularizers are averaged over pixels, so a weight means the same at any size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf


@dataclass(frozen=True)
class Term:
    name: str
    weight: float
    fn: object  # (features: dict[str, Tensor], images: Tensor) -> (B,) Tensor
    layers: tuple = ()


@dataclass(frozen=True)
class Objective:
    terms: tuple

    @property
    def layers(self) -> tuple:
        """The layers whose features the objective reads, each once, in first-use order."""
        return tuple(dict.fromkeys(layer for term in self.terms for layer in term.layers))

    def __call__(self, features, images) -> dict[str, tf.Tensor]:
        """Weighted value of each term by name (terms sharing a name are summed), each (B,)."""
        values: dict[str, tf.Tensor] = {}
        for term in self.terms:
            value = term.weight * term.fn(features, images)
            values[term.name] = values[term.name] + value if term.name in values else value
        return values

    def __add__(self, other: Objective) -> Objective:
        return Objective(self.terms + other.terms)

    def __mul__(self, k: float) -> Objective:
        return Objective(tuple(Term(t.name, t.weight * float(k), t.fn, t.layers) for t in self.terms))

    __rmul__ = __mul__

    def __neg__(self) -> Objective:
        return self * -1.0

    def __sub__(self, other: Objective) -> Objective:
        return self + (-other)


def objective(name: str, fn, layers=()) -> Objective:
    return Objective((Term(name, 1.0, fn, tuple(layers)),))


def batch_mean(x: tf.Tensor) -> tf.Tensor:
    """Mean over every axis but the batch: (B, ...) -> (B,)."""
    return tf.reduce_mean(tf.reshape(x, (tf.shape(x)[0], -1)), axis=1)


def only(item: int | None, values: tf.Tensor) -> tf.Tensor:
    """Keep batch item `item` of a (B,) loss (None keeps them all): one target per image."""
    if item is None:
        return values
    return values * tf.one_hot(item, tf.shape(values)[0], dtype=values.dtype)


# ---------------------------------------------------------------- feature inversion


def feature_match(layer: str, target: np.ndarray, item: int | None = None, name: str | None = None) -> Objective:
    """‖Φ(x) − Φ(x₀)‖² / ‖Φ(x₀)‖²: the normalized feature error of Mahendran & Vedaldi."""
    target = tf.constant(target, tf.float32)
    energy = float(tf.reduce_sum(tf.square(target))) or 1.0

    def fn(features, images):
        per_item = tf.reduce_sum(tf.reshape(tf.square(features[layer] - target), (tf.shape(images)[0], -1)), 1)
        return only(item, per_item / energy)

    return objective(name or f"features {layer}", fn, [layer])


# ---------------------------------------------------------------- regularizers


# RGB -> (luma, two chroma axes), orthonormal rows: TV can weigh colour noise apart from edges.
LUMA_CHROMA = np.array([[1, 1, 1], [1, -1, 0], [1, 1, -2]], np.float32) / np.array(
    [[np.sqrt(3)], [np.sqrt(2)], [np.sqrt(6)]], np.float32)


def total_variation(power: float = 1.0, chroma: float = 1.0, name: str = "tv") -> Objective:
    """Mean over pixels of |∂x|^p + |∂y|^p, colour (chroma) differences weighted by `chroma`."""
    mix = LUMA_CHROMA * np.array([[1.0], [chroma], [chroma]], np.float32)

    def fn(features, images):
        images = tf.einsum("bhwc,dc->bhwd", images, mix)
        dy = tf.abs(images[:, 1:, :-1] - images[:, :-1, :-1])
        dx = tf.abs(images[:, :-1, 1:] - images[:, :-1, :-1])
        return batch_mean(dx ** power + dy ** power)

    return objective(name, fn)


def alpha_norm(alpha: float = 6.0, name: str = "alpha-norm") -> Objective:
    """Mean over pixels of |2x − 1|^α: near zero inside [0, 1], steep outside (Mahendran & Vedaldi)."""
    return objective(name, lambda features, images: batch_mean(tf.abs(2.0 * images - 1.0) ** alpha))
