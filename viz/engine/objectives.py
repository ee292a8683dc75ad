"""Loss terms that add up: every objective is a loss to minimize, one value per image of the batch.

An `Objective` is a weighted sum of named terms. Each term maps (features by layer, images in
[0, 1], its data) to a (B,) tensor; `a + b`, `3 * a` and `-a` build new objectives (Lucid's
objectives, with one sign convention). Regularizers are averaged over pixels, so a weight means the
same at any size. What differs from run to run (targets, kernels, weights) is a term's `data`, fed
to the compiled step as tensors: runs that differ only in data share one compiled step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf


@dataclass(frozen=True, eq=False)
class Term:
    name: str
    weight: float
    fn: object  # (features: dict[str, Tensor], images: Tensor, data: dict[str, Tensor]) -> (B,) Tensor
    layers: tuple = ()
    data: dict = field(default_factory=dict)  # name -> array or number: this run's values


@dataclass(frozen=True, eq=False)
class Objective:
    terms: tuple

    @property
    def layers(self) -> tuple:
        """The layers whose features the objective reads, each once, in first-use order."""
        return tuple(dict.fromkeys(layer for term in self.terms for layer in term.layers))

    def __call__(self, features, images, data=None) -> dict[str, tf.Tensor]:
        """Weighted value of each term by name (terms sharing a name are summed), each (B,). `data` is
        `feed()`'s structure as tensors; without it, the terms' own data."""
        data = self.feed() if data is None else data
        values: dict[str, tf.Tensor] = {}
        for term, own in zip(self.terms, data):
            value = own["weight"] * term.fn(features, images, own)
            values[term.name] = values[term.name] + value if term.name in values else value
        return values

    def feed(self) -> tuple[dict, ...]:
        """Each term's data and weight, as float32 arrays: the inputs of a compiled step."""
        return tuple({k: np.asarray(v, np.float32) for k, v in dict(t.data, weight=t.weight).items()}
                     for t in self.terms)

    def data_shapes(self) -> tuple:
        """The shape of each term's data, by name: part of what a compiled step is traced for."""
        return tuple(tuple((name, np.shape(v)) for name, v in t.data.items()) for t in self.terms)

    def without_data(self) -> Objective:
        """The same terms with their data left out (to be fed), so that a compiled step keeps none."""
        return Objective(tuple(Term(t.name, t.weight, t.fn, t.layers) for t in self.terms))

    def structure(self) -> tuple:
        """What a compiled step of this objective is built from (names, code and what it closes over,
        layers), not its data: equal structures compute the same function of their data."""
        return tuple((t.name, graph_key(t.fn), t.layers) for t in self.terms)

    def __add__(self, other: Objective) -> Objective:
        return Objective(self.terms + other.terms)

    def __mul__(self, k: float) -> Objective:
        return Objective(tuple(Term(t.name, t.weight * float(k), t.fn, t.layers, t.data) for t in self.terms))

    __rmul__ = __mul__

    def __neg__(self) -> Objective:
        return self * -1.0

    def __sub__(self, other: Objective) -> Objective:
        return self + (-other)


def graph_key(fn) -> tuple:
    """A function's code and every value it closes over, hashable: two closures with equal keys build
    the same graph. Objects (layers, variables) count as themselves; constant tensors may not be
    closed over (they belong in a term's data)."""
    return (fn.__code__, tuple(frozen(cell.cell_contents) for cell in fn.__closure__ or ()))


def frozen(value):
    """`value` as a hashable key of what it contributes to a graph."""
    if callable(value) and hasattr(value, "__code__"):
        return graph_key(value)
    if isinstance(value, np.ndarray):
        return value.shape, value.dtype.str, value.tobytes()
    if isinstance(value, tf.Variable):  # read when the step runs (a network's weights): itself
        return "variable", id(value)
    if isinstance(value, tf.Tensor):  # a constant baked into the graph, which the next run would reuse
        raise TypeError("A term closes over a tensor; pass it as the term's data.")
    if isinstance(value, dict):
        return tuple((k, frozen(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(frozen(v) for v in value)
    hash(value)
    return value


def objective(name: str, fn, layers=(), data=None) -> Objective:
    return Objective((Term(name, 1.0, fn, tuple(layers), dict(data or {})),))


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
    energy = float(np.sum(np.square(target, dtype=np.float64))) or 1.0

    def fn(features, images, data):
        difference = tf.square(features[layer] - data["target"])
        per_item = tf.reduce_sum(tf.reshape(difference, (tf.shape(images)[0], -1)), 1)
        return only(item, per_item / data["energy"])

    return objective(name or f"features {layer}", fn, [layer], {"target": target, "energy": energy})


# ---------------------------------------------------------------- what a unit or a layer wants


def unit(source: str, weights: np.ndarray, bias: float, item: int | None = None, name: str = "unit") -> Objective:
    """Minus the mean pre-activation of one conv channel or dense neuron (a class logit is one).

    Computed from the layer's input and the unit's own weights, so a unit whose ReLU is off
    everywhere still has a gradient (a post-ReLU objective would leave it stuck at grey).
    """
    conv = weights.ndim == 3
    kernel = weights[..., None] if conv else weights[:, None]

    def fn(features, images, data):
        x = features[source]
        response = tf.nn.conv2d(x, data["kernel"], 1, "SAME") if conv else tf.matmul(x, data["kernel"])
        return only(item, -batch_mean(response + data["bias"]))

    return objective(name, fn, [source], {"kernel": kernel, "bias": bias})


def layer_rms(layer: str, item: int | None = None, name: str = "layer") -> Objective:
    """Minus the root mean square activation of a whole layer: DeepDream's objective, in the features'
    own units (like a unit's response), so a batch of units and layers scales as one."""
    def fn(features, images, data):
        return only(item, -tf.sqrt(batch_mean(tf.square(features[layer])) + 1e-12))

    return objective(name, fn, [layer])


def direction(layer: str, vectors: np.ndarray, cosine_power: float = 0.0, name: str = "direction") -> Objective:
    """Minus the mean over positions of ⟨a, v⟩ · max(cos(a, v), 0.1)^p, item b of the batch for the row
    v = vectors[b]: Lucid's direction objective; a power p > 0 asks for that direction itself rather
    than for a large activation along it (the Building Blocks' activation grid, p = 1)."""
    def fn(features, images, data):
        acts, v = features[layer], data["vectors"]
        dots = tf.einsum("bhwc,bc->bhw", acts, v)
        cosine = dots / (tf.norm(acts, axis=-1) * tf.norm(v, axis=-1)[:, None, None] + 1e-6)
        return -batch_mean(dots * tf.maximum(cosine, 0.1) ** data["power"])

    return objective(name, fn, [layer], {"vectors": np.asarray(vectors, np.float32), "power": cosine_power})


def diversity(layer: str, name: str = "diversity") -> Objective:
    """Each image's mean cosine similarity to the others' Gram matrices at `layer` (Lucid's diversity
    term): added to a batch's loss, it pushes the images towards different textures."""
    def fn(features, images, data):
        acts = features[layer]
        flat = tf.reshape(acts, (tf.shape(acts)[0], -1, tf.shape(acts)[-1]))
        gram = tf.math.l2_normalize(tf.reshape(tf.matmul(flat, flat, transpose_a=True), (tf.shape(acts)[0], -1)), 1)
        similar = tf.matmul(gram, gram, transpose_b=True)
        count = tf.cast(tf.shape(acts)[0], similar.dtype)
        return (tf.reduce_sum(similar, axis=1) - 1.0) / tf.maximum(count - 1.0, 1.0)

    return objective(name, fn, [layer])


# ---------------------------------------------------------------- regularizers


# RGB -> (luma, two chroma axes), orthonormal rows: TV can weigh colour noise apart from edges.
LUMA_CHROMA = np.array([[1, 1, 1], [1, -1, 0], [1, 1, -2]], np.float32) / np.array(
    [[np.sqrt(3)], [np.sqrt(2)], [np.sqrt(6)]], np.float32)


def total_variation(power: float = 1.0, chroma: float = 1.0, smooth: float = 0.0, name: str = "tv") -> Objective:
    """(Σ|∂x|^p + Σ|∂y|^p) / (H·W), summed over colours: per pixel, so a weight means the same at any
    size (times H·W it is `tf.image.total_variation` for p = 1). `chroma` ≠ 1 weighs colour
    differences apart from luminance ones, to single out colour noise. `smooth` = ε > 0 replaces |d|
    by √(d² + ε²) − ε (Charbonnier): within ε of |d| but differentiable at 0, which L-BFGS needs."""
    mix = LUMA_CHROMA * np.array([[1.0], [chroma], [chroma]], np.float32)

    def magnitude(d):
        return tf.sqrt(tf.square(d) + smooth ** 2) - smooth if smooth else tf.abs(d)

    def fn(features, images, data):
        if chroma != 1.0:
            images = tf.einsum("bhwc,dc->bhwd", images, mix)
        dy = magnitude(images[:, 1:] - images[:, :-1]) ** power
        dx = magnitude(images[:, :, 1:] - images[:, :, :-1]) ** power
        pixels = tf.cast(tf.shape(images)[1] * tf.shape(images)[2], images.dtype)
        return (tf.reduce_sum(dy, axis=(1, 2, 3)) + tf.reduce_sum(dx, axis=(1, 2, 3))) / pixels

    return objective(name, fn)


def blur_penalty(name: str = "blur") -> Objective:
    """Mean squared difference between the image and its 3×3 Gaussian blur: penalizes fine noise."""
    g = np.outer([1, 2, 1], [1, 2, 1]).astype(np.float32) / 16.0
    kernel = np.tile(g[:, :, None, None], (1, 1, 3, 1))

    def fn(features, images, data):
        padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
        return batch_mean(tf.square(images - tf.nn.depthwise_conv2d(padded, kernel, [1, 1, 1, 1], "VALID")))

    return objective(name, fn)


def alpha_norm(alpha: float = 6.0, name: str = "alpha-norm") -> Objective:
    """Mean over pixels of |2x − 1|^α: near zero inside [0, 1], steep outside (Mahendran & Vedaldi)."""
    return objective(name, lambda features, images, data: batch_mean(tf.abs(2.0 * images - 1.0) ** alpha))
