"""Where does the evidence for a target lie? Grad-CAM, Grad-CAM++, gradient saliency and SmoothGrad.

Targets: an ImageNet class (its logit; with the classifier), a channel `layer:channel` (its mean
activation) or a whole layer (its mean activation), so the view also works offline. All maps come
from one gradient helper, `score_gradients`: no optimization loop here.

Grad-CAM: Selvaraju et al. 2017; Grad-CAM++: Chattopadhay et al. 2018 (the closed form used by
tf-keras-vis); SmoothGrad: Smilkov et al. 2017. Sanity: Adebayo et al. 2018 (see the tests).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from . import images
from .errors import SEED, InputError, Range, quoted
from .knobs import Knobs, knob
from .model import LAST_CONV, Backbone, check_conv_layer, features, imagenet_labels, network
from .targets import Target, parse_target

METHODS = ("Grad-CAM", "Grad-CAM++", "gradient", "SmoothGrad")
NOISE = Range("Noise level", 0.0, 0.5, 0.15, step=0.01, label="SmoothGrad noise (× value range)")
# 6 noisy copies keep the map (rank correlation with 64 float32 copies of another seed: see
# benchmarks/attribution.py) in a few seconds on the slowest CPU class.
SAMPLES = Range("Samples", 1, 64, 6, label="SmoothGrad samples")
SIZE = Range("Image size", 64, 512, 224)
SMOOTHGRAD_PIXELS = 2 * 224 * 224  # noisy pixels per backward pass: bounds its memory whatever `samples` is
# With the classifier and no target: the top class (each one more costs as much again).
TOP = Range("Top classes", 1, 5, 1, label="Top classes (with the classifier)")


@dataclass
class Attribution:
    """Heat maps in [0, 1] at the photo's size, one per method, for one target."""

    target: Target
    score: float
    layer: str  # where Grad-CAM looked
    maps: dict[str, np.ndarray]  # method -> (H, W) in [0, 1]
    photo: np.ndarray  # the image the maps belong to (uint8)

    @property
    def measure(self) -> str:
        """What `score` is, in words (see `score`)."""
        return MEASURES[self.target.kind]


def resolve_targets(backbone: Backbone, photo01: np.ndarray, target: str | None, top: int = TOP.default
                    ) -> list[Target]:
    """The named target, or (with the classifier, for an empty target) the top predicted classes."""
    if target and target.strip():
        return [parse_target(backbone, target.strip())]
    if not backbone.has_classifier:
        raise InputError("Name a target: these weights have no classifier, so use a channel like "
                         "block5_conv3:42 or a layer like block4_conv3.")
    top = TOP.check(top)
    logits = features(backbone, photo01[None], ["predictions"])["predictions"][0]
    best = np.argsort(-logits)[:top]
    labels = imagenet_labels()
    return [Target(labels[i], "class", "predictions", int(i)) for i in best]


@dataclass(frozen=True)
class AttributionRun(Knobs):
    """An attribution's knobs: its target (a class, `layer:channel` or a layer; empty: the top classes,
    with the classifier), its methods, Grad-CAM's layer, SmoothGrad's noise (× the value range) and
    samples, how many top classes, the photo's long side and the seed."""

    target: str = ""
    methods: tuple[str, ...] = METHODS
    layer: str = LAST_CONV
    noise: float = knob(NOISE)
    samples: int = knob(SAMPLES)
    top: int = knob(TOP)
    size: int = knob(SIZE)
    seed: int = knob(SEED)


DEFAULT_RUN = AttributionRun()


def attribution(backbone: Backbone, photo: np.ndarray, run: AttributionRun = DEFAULT_RUN) -> list[Attribution]:
    """Heat maps of the run's methods for its target (or the top classes) on a uint8 RGB photo."""
    run = run.checked()
    methods = [run.methods] if isinstance(run.methods, str) else list(run.methods or METHODS)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InputError(f"Unknown method {quoted(unknown[0])}; use {', '.join(METHODS)}.")
    picture = images.fit_for_network(photo, run.size)  # the network squashes it to 224² for a class
    x = images.to_float(picture)[None]
    results = []
    for chosen in resolve_targets(backbone, x[0], run.target, run.top):
        cam_layer = gradcam_layer(backbone, chosen, run.layer)
        scores, acts, act_grads, pixel_grads = score_gradients(backbone, x, chosen, cam_layer)
        maps = {}
        if "Grad-CAM" in methods:
            maps["Grad-CAM"] = upsample(gradcam(acts[0], act_grads[0]), picture.shape[:2])
        if "Grad-CAM++" in methods:
            maps["Grad-CAM++"] = upsample(gradcam_plus_plus(acts[0], act_grads[0]), picture.shape[:2])
        if "gradient" in methods:
            maps["gradient"] = saliency(pixel_grads[0])
        if "SmoothGrad" in methods:
            maps["SmoothGrad"] = smoothgrad(backbone, x[0], chosen, run.noise, run.samples, run.seed)
        results.append(Attribution(chosen, float(scores.numpy()[0]), cam_layer, maps, picture))
    return results


def gradcam_layer(backbone: Backbone, target: Target, layer: str) -> str:
    """Grad-CAM looks at `layer`, or at the target's own layer when `layer` lies deeper than it."""
    names = backbone.layer_names
    check_conv_layer(backbone, layer, "Grad-CAM needs")
    return layer if names.index(layer) <= names.index(target.layer) else target.layer


MEASURES = {"class": "logit", "channel": "mean activation", "layer": "mean activation"}


def score(outputs: dict, target: Target) -> tf.Tensor:
    """The scalar per image that the maps explain: a logit, or a channel's or layer's mean activation."""
    values = outputs[target.layer]
    if target.kind == "class":
        return values[:, target.unit]
    if target.kind == "channel":
        return tf.reduce_mean(values[..., target.unit], axis=tuple(range(1, len(values.shape) - 1)))
    return tf.reduce_mean(tf.reshape(values, (tf.shape(values)[0], -1)), axis=1)


def score_gradients(backbone: Backbone, images01, target: Target, layer: str | None, fast: bool = False):
    """The one gradient helper: scores (B,), `layer`'s activations and their gradients, and the
    gradients with respect to the [0, 1] pixels (the network in the fast precision if asked)."""
    names = [target.layer] + ([layer] if layer and layer != target.layer else [])
    net = network(backbone, names, fast)
    x = tf.convert_to_tensor(images01, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        outputs = net(x)
        scores = score(outputs, target)
    wanted = [outputs[layer]] if layer else []
    grads = tape.gradient(scores, wanted + [x])
    acts = outputs[layer].numpy() if layer else None
    return scores, acts, grads[0].numpy() if layer else None, grads[-1].numpy()


def gradcam(acts: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """ReLU(Σₖ αₖ Aₖ) with αₖ the spatial mean of ∂score/∂Aₖ."""
    weights = grads.mean(axis=(0, 1))
    return np.maximum((acts * weights).sum(axis=-1), 0)


def gradcam_plus_plus(acts: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """Grad-CAM++: positive gradients weighted by the closed-form αs (exponential-score trick)."""
    g2, g3 = grads ** 2, grads ** 3
    denominator = 2 * g2 + acts.sum(axis=(0, 1), keepdims=True) * g3
    alphas = g2 / np.where(denominator != 0, denominator, 1)
    norm = alphas.sum(axis=(0, 1), keepdims=True)
    alphas /= np.where(norm != 0, norm, 1)
    weights = (np.maximum(grads, 0) * alphas).sum(axis=(0, 1))
    return np.maximum((acts * weights).sum(axis=-1), 0)


def saliency(pixel_grads: np.ndarray) -> np.ndarray:
    """|∂score/∂pixel|, the largest over the colour channels, normalized (robust to outliers)."""
    return images.normalize_robust(np.abs(pixel_grads).max(axis=-1))


def smoothgrad(backbone: Backbone, image01: np.ndarray, target: Target, noise: float, samples: int,
               seed: int, fast: bool = True) -> np.ndarray:
    """The gradient saliency averaged over `samples` noisy copies, computed a few copies at a time (the
    memory of a backward pass grows with its pixels: SMOOTHGRAD_PIXELS), in the fast precision unless
    told otherwise (the average of noisy gradients needs no more digits: see the benchmark)."""
    rng = np.random.default_rng(seed)
    sigma = noise * float(image01.max() - image01.min())
    chunk = max(1, SMOOTHGRAD_PIXELS // (image01.shape[0] * image01.shape[1]))
    total = np.zeros(image01.shape[:2], np.float64)
    for start in range(0, samples, chunk):
        count = min(chunk, samples - start)
        batch = image01[None] + rng.normal(0, sigma, (count,) + image01.shape).astype(np.float32)
        pixel_grads = score_gradients(backbone, batch, target, None, fast)[3]
        total += np.abs(pixel_grads).max(axis=-1).sum(axis=0)
    return images.normalize_robust(total / samples)


def upsample(cam: np.ndarray, shape) -> np.ndarray:
    """A coarse map resized to the photo (bilinear) and normalized to [0, 1]."""
    big = tf.image.resize(cam[None, ..., None], shape, method="bilinear").numpy()[0, ..., 0]
    return images.normalize(np.maximum(big, 0))
