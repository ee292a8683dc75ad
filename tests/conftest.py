"""Shared fixtures: the offline VGG16, a launched app, a client, and test images."""

import os
import shutil
import socket
import tempfile
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ["VIZ_ATLAS_DIR"] = tempfile.mkdtemp(prefix="atlas-")  # never the user's own atlas cache

from viz.runtime import configure_runtime  # noqa: E402

configure_runtime()


def pytest_sessionfinish(session, exitstatus):
    """No tests collected is a failure, never a silent success (pytest's exit code 5)."""
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def backbone():
    """VGG16 with the real offline (HED) convolutional weights."""
    from viz.io.weights import load_backbone

    return load_backbone("hed")


def write_imagenet_layout(full, path) -> None:
    """A VGG16 with its top saved as Keras' ImageNet download lays it out (legacy HDF5: the layer
    names as attributes, one group per layer, `layer/kernel:0` and `layer/bias:0` inside)."""
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [layer.name.encode() for layer in full.layers]
        for layer in full.layers:
            group = f.create_group(layer.name)
            names = [f"{layer.name}/{kind}:0" for kind in ("kernel", "bias")] if layer.get_weights() else []
            group.attrs["weight_names"] = [name.encode() for name in names]
            for name, value in zip(names, layer.get_weights()):
                group.create_dataset(name, data=value)


@pytest.fixture(scope="session")
def imagenet_file(backbone, tmp_path_factory):
    """The real VGG16 architecture with its top (224×224 only: flatten, fc1, fc2, predictions): the
    offline conv filters plus a seeded random classifier, as a file in the layout of Keras' ImageNet
    weights. No network is needed; the shapes are exactly a Space's."""
    import keras

    keras.utils.set_random_seed(0)
    full = keras.applications.VGG16(weights=None, classifier_activation=None)
    for layer in backbone.convolutional.layers[1:]:
        full.get_layer(layer.name).set_weights(layer.get_weights())
    path = tmp_path_factory.mktemp("keras") / "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
    write_imagenet_layout(full, str(path))
    return str(path)


@pytest.fixture(scope="session")
def classifier_backbone(imagenet_file):
    """VGG16 with the classifier, loaded as a Space loads it: the `imagenet` source, with its one
    download call answered by the fixture file."""
    from viz.io import weights

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(weights, "download_imagenet_weights", lambda: imagenet_file)
        loaded = weights.imagenet_backbone()
    assert loaded.source == "imagenet" and loaded.has_classifier, loaded.note
    return loaded


def scaled_backbone(backbone, factor: float):
    """The same VGG16 with block1_conv1's kernel and every bias times `factor`: every feature (and logit)
    is then exactly `factor` times the original's, ReLU and max pooling being positively homogeneous."""
    import keras

    from viz.model import Backbone

    conv = keras.models.clone_model(backbone.convolutional)
    conv.set_weights(backbone.convolutional.get_weights())
    for layer in conv.layers:
        if layer.get_weights():
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel * factor if layer.name == "block1_conv1" else kernel, bias * factor])
    return Backbone(conv, (), source=f"{backbone.source}×{factor:g}", note="scaled features")


@pytest.fixture
def bfloat16():
    """The fast precision forced to bfloat16, as a machine with native bfloat16 chooses it, whatever
    this machine is (elsewhere TensorFlow emulates it: slower, the same numbers)."""
    from viz import precision

    old = os.environ.get(precision.ENV)
    os.environ[precision.ENV] = "bfloat16"
    precision.fast_precision.cache_clear()
    yield precision.fast_precision()
    if old is None:
        del os.environ[precision.ENV]
    else:
        os.environ[precision.ENV] = old
    precision.fast_precision.cache_clear()


@pytest.fixture(scope="session")
def photo():
    """A real photo (the cat example), small."""
    from viz import images
    from viz.io import imagefiles

    return images.fit_long_side(imagefiles.load_image(str(ROOT / "examples" / "cat.jpg")), 96)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(backbone):
    """The app on `backbone`, launched in this process on 127.0.0.1: yields its URL, then closes it."""
    import app
    from ui.page import build_page

    demo = app.launch(build_page(backbone)[0], block=False, server_name="127.0.0.1",
                      server_port=free_port(), quiet=True)
    yield demo.local_url
    wait_until_idle(demo)
    demo.close()


def wait_until_idle(demo, timeout: float = 120.0) -> None:
    """Let jobs a test started but did not wait for (a browser's streaming run) finish: TensorFlow
    still computing in a server thread when the interpreter exits aborts the process."""
    import time

    end = time.monotonic() + timeout
    while any(demo._queue.active_jobs) and time.monotonic() < end:
        time.sleep(0.5)


@pytest.fixture(scope="session")
def app_url(backbone):
    """The app with the offline weights."""
    yield from serve(backbone)


@pytest.fixture(scope="session")
def classifier_app_url(classifier_backbone):
    """The app as a Space serves it: VGG16 with its 224×224 classifier."""
    yield from serve(classifier_backbone)


@pytest.fixture(scope="session")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


@pytest.fixture(scope="session")
def classifier_client(classifier_app_url):
    from gradio_client import Client

    return Client(classifier_app_url, verbose=False)


@pytest.fixture
def random_image():
    return (np.random.default_rng(0).random((40, 60, 3)) * 255).astype(np.uint8)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def open_page(url: str, width: int = 1400, height: int = 1000):
    """Headless Chromium on the app's page, once its header is there: yields the page, then closes."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(url)
        page.get_by_role("heading", name="What does VGG16 see?").wait_for()
        yield page
        browser.close()
