"""Measures of the pictures and maps the app makes, shared by the benchmarks and the tests (the app
itself never needs them): how strongly a picture drives a direction or a channel, how far apart a
batch of pictures lies in texture (how alike two maps rank their pixels: viz.sanity.rank_correlation)."""

import numpy as np

from viz import images
from viz.model import Backbone, features


def activations_of(backbone: Backbone, picture: np.ndarray, layer: str) -> np.ndarray:
    """A uint8 picture's activations at `layer` (h, w, channels)."""
    return features(backbone, images.to_float(picture)[None], [layer])[layer][0]


def direction_response(backbone: Backbone, picture: np.ndarray, layer: str, direction: np.ndarray) -> float:
    """The mean over positions of a picture's activations along `direction`."""
    return float(np.mean(activations_of(backbone, picture, layer) @ direction))


def channel_response(backbone: Backbone, picture: np.ndarray, layer: str, channel: int) -> float:
    """A channel's mean activation on a picture."""
    return float(activations_of(backbone, picture, layer)[..., channel].mean())


def gram_distance(backbone: Backbone, pictures: list[np.ndarray], layer: str) -> float:
    """The mean cosine distance between the Gram matrices of the pictures' activations at `layer`
    (the measure behind the diversity term, objectives.diversity)."""
    acts = np.stack([activations_of(backbone, p, layer) for p in pictures])
    flat = acts.reshape(acts.shape[0], -1, acts.shape[-1]).astype(np.float64)
    grams = np.einsum("bpc,bpd->bcd", flat, flat).reshape(acts.shape[0], -1)
    grams /= np.linalg.norm(grams, axis=1, keepdims=True) + 1e-12
    count = acts.shape[0]
    return float(1.0 - ((grams @ grams.T).sum() - count) / (count * (count - 1)))

