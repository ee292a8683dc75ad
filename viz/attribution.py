"""Where does the evidence for a target lie? Ten maps, from gradients, from activations and from
perturbing the photo.

Targets: an ImageNet class (its logit; with the classifier), a channel `layer:channel` (its mean
activation) or a whole layer (its mean activation), so the view also works offline. The gradient
maps come from one gradient helper, `score_gradients`; the perturbation maps score batches of
changed photos in one forward pass each; no optimization loop here.

Grad-CAM: Selvaraju et al. 2017; Grad-CAM++: Chattopadhay et al. 2018 (the closed form used by
tf-keras-vis); LayerCAM: Jiang et al. 2021; Score-CAM: Wang et al. 2020 (over the strongest
channels, like tf-keras-vis's Faster Score-CAM); SmoothGrad: Smilkov et al. 2017; Integrated
Gradients: Sundararajan et al. 2017; Occlusion: Zeiler & Fergus 2014; RISE: Petsiuk et al. 2018.
How far each map can be trusted: `viz.faithfulness` and `viz.sanity`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import tensorflow as tf

from . import images
from .errors import SEED, InputError, Range, quoted
from .knobs import Knobs, knob
from .model import LAST_CONV, Backbone, check_conv_layer, features, imagenet_labels, network
from .targets import Target, parse_target

DEFAULT_METHODS = ("Grad-CAM", "Grad-CAM++", "gradient", "SmoothGrad")
NOISE = Range("Noise level", 0.0, 0.5, 0.15, step=0.01, label="SmoothGrad noise (× value range)")
# 6 noisy copies keep the map (rank correlation with 64 float32 copies of another seed: see
# benchmarks/attribution.py) in a few seconds on the slowest CPU class.
SAMPLES = Range("Samples", 1, 64, 6, label="SmoothGrad samples")
SIZE = Range("Image size", 64, 512, 224)
SMOOTHGRAD_PIXELS = 2 * 224 * 224  # noisy pixels per backward pass: bounds its memory whatever `samples` is
FORWARD_PIXELS = 8 * 224 * 224  # changed photos scored per forward pass
# With the classifier and no target: the top class (each one more costs as much again).
TOP = Range("Top classes", 1, 5, 1, label="Top classes (with the classifier)")
# The added methods' costs, each sized to end within seconds on the slowest CPU class
# (benchmarks/attribution.py); more steps, smaller patches, more masks or channels cost more.
IG_STEPS = Range("Integrated Gradients steps", 8, 256, 64, label="Integrated Gradients: most steps")
IG_FIRST_STEPS = 8  # Integrated Gradients starts with this many, and doubles them while incomplete
COMPLETE = 0.02  # ... until its attributions add up to the score's change within this share of it
OCCLUSION_PATCH = Range("Occlusion patch", 16, 128, 48, step=8, label="Occlusion: patch side (px)")
RISE_MASKS = Range("RISE masks", 16, 2000, 96, step=16, label="RISE: random masks")
SCORECAM_CHANNELS = Range("Score-CAM channels", 4, 128, 32, label="Score-CAM: strongest channels")
RISE_CELLS, RISE_KEEP = 7, 0.5  # a RISE mask: a 7×7 grid, each cell kept with probability 1/2 (the paper's)
BLUR_SIGMA = 8.0  # px: a copy with no detail left to recognise (IG's blurred baseline, insertion's start)


@dataclass(frozen=True)
class AttributionRun(Knobs):
    """An attribution's knobs: its target (a class, `layer:channel` or a layer; empty: the top classes,
    with the classifier), its methods, the CAM methods' layer, SmoothGrad's noise (× the value range)
    and samples, how many top classes, the added methods' costs, the photo's long side and the seed."""

    target: str = ""
    methods: tuple[str, ...] = DEFAULT_METHODS
    layer: str = LAST_CONV
    noise: float = knob(NOISE)
    samples: int = knob(SAMPLES)
    top: int = knob(TOP)
    ig_steps: int = knob(IG_STEPS)
    occlusion_patch: int = knob(OCCLUSION_PATCH)
    rise_masks: int = knob(RISE_MASKS)
    scorecam_channels: int = knob(SCORECAM_CHANNELS)
    size: int = knob(SIZE)
    seed: int = knob(SEED)


DEFAULT_RUN = AttributionRun()


@dataclass
class Seen:
    """The photo as the network sees it for one target, and what every method starts from: the score,
    the CAM layer's activations and their gradients, the gradients of the pixels."""

    backbone: Backbone
    target: Target
    picture: np.ndarray  # uint8 (H, W, 3)
    layer: str
    score: float
    acts: np.ndarray  # (h, w, C) at `layer`
    act_grads: np.ndarray
    pixel_grads: np.ndarray  # (H, W, 3)

    @property
    def x(self) -> np.ndarray:
        """The picture in [0, 1], (H, W, 3)."""
        return images.to_float(self.picture)

    def upsampled(self, coarse: np.ndarray) -> np.ndarray:
        return upsample(coarse, self.picture.shape[:2])


@dataclass
class Attribution:
    """Heat maps in [0, 1] at the photo's size, one per method, for one target; with what some methods
    measure of themselves (Integrated Gradients: its completeness gap)."""

    target: Target
    score: float
    layer: str  # where the CAM methods looked
    maps: dict[str, np.ndarray]  # method -> (H, W) in [0, 1]
    photo: np.ndarray  # the image the maps belong to (uint8)
    details: dict[str, dict[str, float]]  # method -> its own figures

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


def attribution(backbone: Backbone, photo: np.ndarray, run: AttributionRun = DEFAULT_RUN) -> list[Attribution]:
    """Heat maps of the run's methods for its target (or the top classes) on a uint8 RGB photo."""
    run = run.checked()
    methods = checked_methods(run.methods)
    picture = images.fit_for_network(photo, run.size)  # the network squashes it to 224² for a class
    results = []
    for chosen in resolve_targets(backbone, images.to_float(picture), run.target, run.top):
        seen = seen_for(backbone, picture, chosen, run.layer)
        made = {method: METHODS[method](seen, run) for method in methods}
        results.append(Attribution(chosen, seen.score, seen.layer, {m: heat for m, (heat, _) in made.items()},
                                   picture, {m: details for m, (_, details) in made.items() if details}))
    return results


def checked_methods(methods) -> list[str]:
    """The methods asked for (a name or several), each known, or an InputError naming the first unknown."""
    methods = [methods] if isinstance(methods, str) else list(methods or DEFAULT_METHODS)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InputError(f"Unknown method {quoted(unknown[0])}; use {', '.join(METHODS)}.")
    return methods


def seen_for(backbone: Backbone, picture: np.ndarray, target: Target, layer: str) -> Seen:
    """One gradient pass of the picture for `target`, through the CAM layer (`layer`, or the target's
    own when that lies shallower)."""
    cam_layer = gradcam_layer(backbone, target, layer)
    scores, acts, act_grads, pixel_grads = score_gradients(backbone, images.to_float(picture)[None], target, cam_layer)
    return Seen(backbone, target, picture, cam_layer, float(scores.numpy()[0]), acts[0], act_grads[0], pixel_grads[0])


def gradcam_layer(backbone: Backbone, target: Target, layer: str) -> str:
    """Grad-CAM looks at `layer`, or at the target's own layer when `layer` lies deeper than it."""
    names = backbone.layer_names
    check_conv_layer(backbone, layer, "Grad-CAM needs")
    return layer if names.index(layer) <= names.index(target.layer) else target.layer


MEASURES = {"class": "logit", "channel": "mean activation", "layer": "mean activation"}


def score(outputs: dict, target: Target) -> tf.Tensor:
    """The scalar per image that the maps explain: a logit, or a channel's or layer's mean activation."""
    return scored(outputs[target.layer], target.kind, target.unit or 0)


def scored(values: tf.Tensor, kind: str, unit) -> tf.Tensor:
    """`score` of a target of `kind` whose unit (an int or a tensor) is `unit`, from its layer's values."""
    if kind == "class":
        return tf.gather(values, unit, axis=1)
    if kind == "channel":
        return tf.reduce_mean(tf.gather(values, unit, axis=-1), axis=tuple(range(1, len(values.shape) - 1)))
    return tf.reduce_mean(tf.reshape(values, (tf.shape(values)[0], -1)), axis=1)


def score_gradients(backbone: Backbone, images01, target: Target, layer: str | None, fast: bool = False):
    """The one gradient helper: scores (B,), `layer`'s activations and their gradients, and the
    gradients with respect to the [0, 1] pixels (the network in the fast precision if asked); one
    compiled step per kind of target, layer and precision, whatever the unit."""
    step = gradient_step(backbone, target.layer, target.kind, layer, fast)
    scores, acts, act_grads, pixel_grads = step(tf.convert_to_tensor(images01, tf.float32),
                                                tf.constant(target.unit or 0, tf.int32))
    return scores, acts.numpy() if layer else None, act_grads.numpy() if layer else None, pixel_grads.numpy()


@lru_cache(maxsize=16)
def gradient_step(backbone: Backbone, target_layer: str, kind: str, layer: str | None, fast: bool):
    """The compiled gradient pass of `score_gradients` (a trace per input shape, kept)."""
    net = network(backbone, [target_layer] + ([layer] if layer and layer != target_layer else []), fast)

    @tf.function(reduce_retracing=True, autograph=False)
    def step(x, unit):
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs = net(x)
            scores = scored(outputs[target_layer], kind, unit)
        acts = outputs[layer] if layer else tf.zeros(0)
        grads = tape.gradient(scores, [acts, x]) if layer else [tf.zeros(0), tape.gradient(scores, x)]
        return scores, acts, grads[0], grads[1]

    return step


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


def forward_scores(backbone: Backbone, pictures, target: Target) -> np.ndarray:
    """The target's score on each of many same-sized uint8 pictures, FORWARD_PIXELS at a time in the
    fast precision: a class's softmax probability (as RISE and Score-CAM score it), else `score`."""
    net = network(backbone, [target.layer], fast=True)
    found, batch = [], []
    for picture in pictures:
        batch.append(picture)
        if len(batch) * picture.shape[0] * picture.shape[1] >= FORWARD_PIXELS:
            found.append(batch_scores(net, batch, target))
            batch = []
    found += [batch_scores(net, batch, target)] if batch else []
    return np.concatenate(found) if found else np.zeros(0)


def batch_scores(net, batch: list[np.ndarray], target: Target) -> np.ndarray:
    outputs = net(images.to_float(np.stack(batch)))
    if target.kind == "class":
        return tf.nn.softmax(outputs[target.layer], axis=-1)[:, target.unit].numpy()
    return score(outputs, target).numpy()


def layercam(acts: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """LayerCAM: each position's activations weighted by their own positive gradients, ReLU of the sum."""
    return np.maximum((np.maximum(grads, 0) * acts).sum(axis=-1), 0)


def integrated_gradients(backbone: Backbone, image01: np.ndarray, target: Target, baseline01: np.ndarray,
                         most_steps: int) -> tuple[np.ndarray, dict[str, float]]:
    """(x − x′) times the mean gradient along the straight path from the baseline x′ to the photo x, in
    float32; the map is its positive part summed over the colours. Completeness says the attributions
    add up to score(x) − score(x′): the path is integrated by the trapezoid rule on a grid that
    doubles (8, 16, 32, … steps, each keeping the gradients already taken) until they do within
    COMPLETE of that difference, or `most_steps` is reached. Returns the map and its figures: the
    steps taken and the completeness gap that remains."""
    delta, steps = image01 - baseline01, IG_FIRST_STEPS
    scores, total = path_gradients(backbone, image01, target, baseline01, np.linspace(0, 1, steps + 1))
    weights = np.full(steps + 1, 1.0 / steps)
    weights[[0, -1]] /= 2
    integral = np.tensordot(weights, total, axes=1)
    difference = float(scores[-1] - scores[0])
    while True:
        gap = abs(float((delta * integral).sum()) - difference) / max(abs(difference), 1e-12)
        if gap <= COMPLETE or steps * 2 > most_steps:
            break
        middles = (np.arange(steps) + 0.5) / steps
        steps *= 2
        integral = integral / 2 + path_gradients(backbone, image01, target, baseline01, middles)[1].sum(axis=0) / steps
    heat = images.normalize_robust(np.maximum((delta * integral).sum(axis=-1), 0))
    return heat, {"steps": steps, "completeness gap": gap}


def path_gradients(backbone: Backbone, image01: np.ndarray, target: Target, baseline01: np.ndarray,
                   alphas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The scores and pixel gradients at the points `alphas` of the straight path from the baseline to
    the photo, a few images a batch (SMOOTHGRAD_PIXELS)."""
    chunk = max(1, SMOOTHGRAD_PIXELS // (image01.shape[0] * image01.shape[1]))
    scores, grads = [], []
    for start in range(0, len(alphas), chunk):
        path = baseline01 + alphas[start:start + chunk, None, None, None] * (image01 - baseline01)
        found, _, _, pixel_grads = score_gradients(backbone, path.astype(np.float32), target, None)
        scores.append(found.numpy())
        grads.append(pixel_grads.astype(np.float64))
    return np.concatenate(scores), np.concatenate(grads)


def occlusion(backbone: Backbone, picture: np.ndarray, target: Target, patch: int) -> np.ndarray:
    """How much the score falls when a grey square of `patch` px hides each place (slid by half a
    patch, all positions in a few batches), averaged where squares overlap."""
    h, w = picture.shape[:2]
    places = [(top, left) for top in slide(h, patch) for left in slide(w, patch)]
    hidden = (np.where(inside(picture.shape, top, left, patch), np.uint8(128), picture) for top, left in places)
    own = forward_scores(backbone, [picture], target)[0]
    drops = own - forward_scores(backbone, hidden, target)
    heat, count = np.zeros((h, w)), np.zeros((h, w))
    for (top, left), drop in zip(places, drops):
        heat[top:top + patch, left:left + patch] += drop
        count[top:top + patch, left:left + patch] += 1
    return images.normalize(np.maximum(heat / np.maximum(count, 1), 0))


def slide(length: int, patch: int) -> list[int]:
    """Where a square slid by half its side starts along `length`, the last one flush with the end."""
    last = max(length - patch, 0)
    return sorted(set(range(0, last + 1, max(1, patch // 2))) | {last})


def inside(shape, top: int, left: int, patch: int) -> np.ndarray:
    """(H, W, 1): True inside the square."""
    mask = np.zeros(shape[:2] + (1,), bool)
    mask[top:top + patch, left:left + patch] = True
    return mask


def rise(backbone: Backbone, picture: np.ndarray, target: Target, masks: int, seed: int) -> np.ndarray:
    """RISE: the photo seen through `masks` random smooth masks (a batch at a time); each place's
    saliency is the mean score of the views that show it, above the mean of all views. (RISE's own
    sum Σ score·mask / (N·p) carries the masks' own uneven coverage, the same whatever the network:
    the sanity check found its maps on a randomised network nearly the trained one's.)"""
    h, w = picture.shape[:2]
    rng = np.random.default_rng(seed)
    weighted, shown, scores = np.zeros((h, w)), np.zeros((h, w)), []
    chunk = max(1, FORWARD_PIXELS // (h * w))
    for start in range(0, masks, chunk):
        batch = rise_masks(rng, min(chunk, masks - start), (h, w))
        found = forward_scores(backbone, (picture * batch[..., None]).astype(np.uint8), target)
        weighted += np.tensordot(found, batch, axes=1)
        shown += batch.sum(axis=0)
        scores.append(found)
    heat = weighted / np.maximum(shown, 1e-6) - np.concatenate(scores).mean()
    return images.normalize(np.maximum(heat, 0))


def rise_masks(rng: np.random.Generator, count: int, shape: tuple[int, int]) -> np.ndarray:
    """`count` RISE masks: a RISE_CELLS grid of cells kept with probability RISE_KEEP, upsampled
    (bilinear) one cell larger than the photo and cropped at a random shift, in [0, 1]."""
    cell = (-(-shape[0] // RISE_CELLS), -(-shape[1] // RISE_CELLS))
    grids = (rng.random((count, RISE_CELLS, RISE_CELLS, 1)) < RISE_KEEP).astype(np.float32)
    big = tf.image.resize(grids, ((RISE_CELLS + 1) * cell[0], (RISE_CELLS + 1) * cell[1])).numpy()[..., 0]
    shifts = rng.integers(0, cell, size=(count, 2))
    return np.stack([m[dy:dy + shape[0], dx:dx + shape[1]] for m, (dy, dx) in zip(big, shifts)])


def score_cam(seen: Seen, channels: int) -> np.ndarray:
    """Score-CAM over the layer's `channels` strongest channels: each channel's upsampled map (scaled
    to [0, 1]) lets the photo through; how much that raises the score over a black photo weighs it
    (over the weakest such view, where none beats black: edge-tuned channels answer black too)."""
    strongest = np.argsort(-seen.acts.mean(axis=(0, 1)))[:channels]
    upsampled = tf.image.resize(seen.acts[None][..., strongest], seen.picture.shape[:2]).numpy()[0]
    low, high = upsampled.min(axis=(0, 1)), upsampled.max(axis=(0, 1))
    masks = np.moveaxis((upsampled - low) / np.where(high > low, high - low, 1), -1, 0)
    shown = ((seen.picture * mask[..., None]).astype(np.uint8) for mask in masks)
    views = forward_scores(seen.backbone, shown, seen.target)
    black = forward_scores(seen.backbone, [np.zeros_like(seen.picture)], seen.target)[0]
    raised = views - min(black, views.min())
    return images.normalize(np.maximum(np.tensordot(raised, masks, axes=1), 0))


def grad_cam_map(seen: Seen, run: AttributionRun):
    return seen.upsampled(gradcam(seen.acts, seen.act_grads)), {}


def grad_cam_plus_plus_map(seen: Seen, run: AttributionRun):
    return seen.upsampled(gradcam_plus_plus(seen.acts, seen.act_grads)), {}


def layercam_map(seen: Seen, run: AttributionRun):
    return seen.upsampled(layercam(seen.acts, seen.act_grads)), {}


def score_cam_map(seen: Seen, run: AttributionRun):
    return score_cam(seen, run.scorecam_channels), {}


def gradient_map(seen: Seen, run: AttributionRun):
    return saliency(seen.pixel_grads), {}


def smoothgrad_map(seen: Seen, run: AttributionRun):
    return smoothgrad(seen.backbone, seen.x, seen.target, run.noise, run.samples, run.seed), {}


def ig_black_map(seen: Seen, run: AttributionRun):
    return integrated_gradients(seen.backbone, seen.x, seen.target, np.zeros_like(seen.x), run.ig_steps)


def ig_blur_map(seen: Seen, run: AttributionRun):
    baseline = images.to_float(images.blurred(seen.picture, BLUR_SIGMA))
    return integrated_gradients(seen.backbone, seen.x, seen.target, baseline, run.ig_steps)


def occlusion_map(seen: Seen, run: AttributionRun):
    return occlusion(seen.backbone, seen.picture, seen.target, run.occlusion_patch), {}


def rise_map(seen: Seen, run: AttributionRun):
    return rise(seen.backbone, seen.picture, seen.target, run.rise_masks, run.seed), {}


# Each method: (what the photo looks like to the network for the target, the run) -> (map, its own figures).
METHODS: dict[str, Callable[[Seen, AttributionRun], tuple[np.ndarray, dict]]] = {
    "Grad-CAM": grad_cam_map, "Grad-CAM++": grad_cam_plus_plus_map, "LayerCAM": layercam_map,
    "Score-CAM": score_cam_map, "gradient": gradient_map, "SmoothGrad": smoothgrad_map,
    "IG (black)": ig_black_map, "IG (blur)": ig_blur_map, "Occlusion": occlusion_map, "RISE": rise_map,
}


COUNT = Range("Channels", 1, 16, 8, label="Channels that carry the evidence")


@dataclass
class ChannelEvidence:
    """Which channels of a layer carry the evidence for a target: each one's first-order contribution
    (gradient × activation, summed over the photo), its share of all the positive contributions,
    and its own map (the same product, place by place)."""

    target: Target
    layer: str
    photo: np.ndarray  # uint8, as the network saw it
    channels: list[int]
    contributions: list[float]
    shares: list[float]
    maps: list[np.ndarray]  # (H, W) in [0, 1], one per channel

    @property
    def explained(self) -> float:
        """The share of the target's positive first-order evidence the channels carry together."""
        return float(sum(self.shares))


def channel_evidence(backbone: Backbone, photo: np.ndarray, run: AttributionRun, count: int = COUNT.default
                     ) -> ChannelEvidence:
    """The `count` channels with the largest gradient × activation toward the run's (first) target, at
    the run's layer, or at the conv layer just before the target's own when the run's is not earlier
    (after zennit-crp's concept relevance, done with gradients)."""
    run, count = run.checked(), COUNT.check(count)
    picture = images.fit_for_network(photo, run.size)
    target = resolve_targets(backbone, images.to_float(picture), run.target, 1)[0]
    seen = seen_for(backbone, picture, target, evidence_layer(backbone, target, run.layer))
    contributions = (seen.acts * seen.act_grads).sum(axis=(0, 1))
    chosen = [int(c) for c in np.argsort(-contributions)[:count]]
    positive = float(np.maximum(contributions, 0).sum()) or 1.0
    maps = [seen.upsampled(np.maximum(seen.acts[..., c] * seen.act_grads[..., c], 0)) for c in chosen]
    return ChannelEvidence(target, seen.layer, picture, chosen, [float(contributions[c]) for c in chosen],
                           [max(float(contributions[c]), 0.0) / positive for c in chosen], maps)


def evidence_layer(backbone: Backbone, target: Target, layer: str) -> str:
    """`layer` if it lies before the target's own layer, else the conv layer just before that one
    (a channel's evidence at its own layer is itself alone)."""
    check_conv_layer(backbone, layer, "The channels' evidence needs")
    names = backbone.layer_names
    if names.index(layer) < names.index(target.layer):
        return layer
    earlier = [n for n in names[:names.index(target.layer)] if "_conv" in n]
    if not earlier:
        raise InputError(f"{quoted(target.text)} lies in the first conv layer: no channel comes before it.")
    return earlier[-1]
