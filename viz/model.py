"""VGG16 as loaded (a Backbone: its convolutional part and, with ImageNet weights, its classifier),
its preprocessing, and feature extractors cut at the deepest layer asked for. The weights are found
and loaded in `viz.io.weights`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from .errors import InputError, quoted
from .precision import fast_precision

CLASSIFIER_SIDE = 224  # VGG16's classifier only accepts 224×224 inputs
LAST_CONV = "block5_conv3"  # the deepest conv layer: where most views look first
HEAD_LAYERS = ("flatten", "fc1", "fc2", "predictions")
MAX_LAYERS = 6  # layers one run compares or combines at once
INPUT = "input"  # the extractor's name for the preprocessed image itself
LABELS_FILE = Path(__file__).parent / "data" / "imagenet_classes.json"


@dataclass(frozen=True, eq=False)
class Backbone:
    """VGG16 (fully convolutional, any input size) plus, when available, its classifier head."""

    convolutional: keras.Model
    head: tuple = ()
    source: str = "hed"
    note: str = ""
    copyable: bool = True  # whether `network` may copy it into bfloat16 (not while its weights change in place)

    @property
    def has_classifier(self) -> bool:
        return any(layer.name == "predictions" for layer in self.head)

    @property
    def layer_names(self) -> list[str]:
        """Every layer from block1_conv1 to the last one, in network order."""
        return [layer.name for layer in self.layers]

    @property
    def layers(self) -> list:
        return self.convolutional.layers[1:] + list(self.head)

    def input_side(self, names) -> int | None:
        """The square input side these layers need: the classifier's 224 when one lies in the head,
        else None (the convolutional layers take any size)."""
        head = {layer.name for layer in self.head}
        return CLASSIFIER_SIDE if head.intersection(names) else None

    def describe(self) -> dict:
        """What a person (or a client) needs to know about the weights in use."""
        return {
            "model": "VGG16",
            "weights": self.source,
            "classifier": self.has_classifier,
            "note": self.note,
            "layers": self.layer_names,
        }


def conv_layers(backbone: Backbone) -> list[str]:
    """The convolutional layers, in network order: the one place that tells them from the others."""
    return [n for n in backbone.layer_names if "_conv" in n]


def check_conv_layer(backbone: Backbone, layer: str, needs: str) -> str:
    """`layer` if it is a conv layer, else an InputError saying that `needs` (e.g. "Grad-CAM needs") one."""
    if layer not in conv_layers(backbone):
        raise InputError(f"{needs} a conv layer such as block5_conv3; got {quoted(layer)}.")
    return layer


def pool_layers(backbone: Backbone) -> list[str]:
    return [n for n in backbone.layer_names if n.endswith("_pool")]


def units(backbone: Backbone, layer: str) -> int:
    """How many channels (conv) or neurons (dense) a layer has."""
    return int(layer_by_name(backbone, layer).get_weights()[0].shape[-1])


def unit_weights(backbone: Backbone, layer: str, index: int) -> tuple[str, np.ndarray, float]:
    """What one unit computes before its activation: (the name of its input, its weights, its bias)."""
    found = layer_by_name(backbone, layer)
    kernel, bias = found.get_weights()
    if not 0 <= index < kernel.shape[-1]:
        raise InputError(f"{layer} has channels 0 to {kernel.shape[-1] - 1}; there is no channel {index}.")
    names = [INPUT] + backbone.layer_names
    return names[names.index(layer) - 1], kernel[..., index], float(bias[index])


def layer_by_name(backbone: Backbone, name: str):
    """A conv or dense layer, or an InputError that says what exists."""
    for layer in backbone.layers:
        if layer.name == name and layer.get_weights():
            return layer
    with_units = [layer.name for layer in backbone.layers if layer.get_weights()]
    raise InputError(f"{quoted(name)} is not a layer with channels; choose one of {', '.join(with_units)}.")


def check_layers(backbone: Backbone, layers, most: int = MAX_LAYERS) -> list[str]:
    """1 to `most` layer names of this VGG16 as a list, or an InputError that says what is wrong."""
    layers = [layers] if isinstance(layers, str) else list(layers or [])
    if not layers:
        raise InputError("Choose at least one layer.")
    if len(layers) > most:
        raise InputError(f"At most {most} layers at once; got {len(layers)}.")
    for layer in layers:
        if layer not in backbone.layer_names:
            raise InputError(f"{layer} needs the ImageNet classifier, which these weights do not have."
                             if layer in HEAD_LAYERS else f"Unknown layer {quoted(layer)}.")
    return layers


def preprocess(images) -> tf.Tensor:
    """RGB images in [0, 1] (…, H, W, 3) as VGG16 wants them: the one place this happens."""
    return keras.applications.vgg16.preprocess_input(tf.cast(images, tf.float32) * 255.0)


def extractor(backbone: Backbone, names) -> keras.Model:
    """A model from preprocessed images to {layer name: activations}, cut after the deepest name."""
    return build_extractor(backbone, tuple(names))


@lru_cache(maxsize=64)
def build_extractor(backbone: Backbone, names: tuple) -> keras.Model:
    order = [INPUT] + backbone.layer_names
    unknown = [n for n in names if n not in order]
    if unknown:
        raise InputError(f"Unknown layer {quoted(unknown[0])}; this VGG16 has {', '.join(order[1:])}.")
    deepest = max(order.index(n) for n in names) - 1
    side = backbone.input_side(names)
    inputs = keras.Input((side, side, 3))
    x, outputs = inputs, {INPUT: inputs} if INPUT in names else {}
    for layer in backbone.layers[: deepest + 1]:
        x = layer(x)
        if layer.name in names:
            outputs[layer.name] = x
    return keras.Model(inputs, outputs, name="features_to_" + order[deepest + 1])


def features(backbone: Backbone, images01, names) -> dict[str, np.ndarray]:
    """Activations of `names` for a batch of [0, 1] RGB images (any size), as numpy arrays."""
    return {name: np.asarray(value) for name, value in network(backbone, names)(images01).items()}


def receptive_field(backbone: Backbone, layer: str) -> tuple[int, int, float]:
    """(size, stride, offset) of `layer`'s units in input pixels: unit (i, j) sees the square of
    `size` centred on (offset + i·stride, offset + j·stride)."""
    size, stride, offset = 1, 1, 0.0
    for item in backbone.convolutional.layers[1:]:
        config = item.get_config()
        kernel = (config.get("kernel_size") or config.get("pool_size"))[0]
        step = config["strides"][0] if config.get("strides") else kernel
        pad = (kernel - 1) / 2 if config.get("padding") == "same" else 0.0
        size += (kernel - 1) * stride
        offset += ((kernel - 1) / 2 - pad) * stride
        stride *= step
        if item.name == layer:
            return size, stride, offset
    raise InputError(f"Unknown layer {quoted(layer)}.")


# ---------------------------------------------------------------- labels


@lru_cache(maxsize=1)
def imagenet_labels() -> list[str]:
    """The 1000 ImageNet class names in the classifier's order (shipped, so no download)."""
    return [name for _, name in json.loads(LABELS_FILE.read_text())]


def class_index(name: str) -> int:
    """Index of a class by its name (case-insensitive), or a clear error."""
    lookup = {label.lower(): i for i, label in enumerate(imagenet_labels())}
    key = name.strip().lower()
    if key not in lookup:
        raise InputError(f"Unknown ImageNet class {quoted(name)}: pick one of the 1000 ImageNet labels.")
    return lookup[key]


def network(backbone: Backbone, names, fast: bool = False):
    """[0, 1] RGB images of any size -> {layer: float32 activations}: resized to the classifier's
    square when a head layer is among `names` (differentiably, so the image keeps its own size), then
    VGG16's preprocessing and the cut extractor.

    With `fast`, the layers compute in the process's fast precision (`precision.fast_precision`):
    bfloat16 where the machine computes it natively, at about three significant digits (weights and
    results stay float32); float32 elsewhere. The same arguments give the same function, so that runs
    through it can share a compiled step.
    """
    return cached_network(backbone, tuple(names), fast and fast_precision().bfloat16 and backbone.copyable)


@lru_cache(maxsize=64)
def cached_network(backbone: Backbone, names: tuple, bfloat16: bool):
    model = extractor(half_precision(backbone) if bfloat16 else backbone, names)
    side = backbone.input_side(names)

    def run(images):
        images = tf.convert_to_tensor(images, tf.float32)
        if side and tuple(images.shape[1:3]) != (side, side):
            images = tf.image.resize(images, (side, side), antialias=True)
        out = model(preprocess(images), training=False)
        return {name: tf.cast(value, tf.float32) for name, value in out.items()} if bfloat16 else out

    return run


def fast_dtype(fast: bool = True) -> tf.DType:
    """The dtype a fast path computes its own products in (Gram matrices): as `network(fast=fast)` does."""
    return tf.bfloat16 if fast and fast_precision().bfloat16 else tf.float32


@lru_cache(maxsize=2)
def half_precision(backbone: Backbone) -> Backbone:
    """The same convolutional layers and weights, computing in bfloat16 (Keras' mixed_bfloat16
    policy); the classifier head, if any, is shared and stays float32."""
    def clone(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": "mixed_bfloat16"})

    conv = keras.models.clone_model(backbone.convolutional, clone_function=clone)
    conv.set_weights(backbone.convolutional.get_weights())
    return Backbone(conv, backbone.head, backbone.source, backbone.note + " (bfloat16)")
