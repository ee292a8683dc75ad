"""Shared fixtures: the offline VGG16, a launched app, a client, and test images."""

import os
import socket
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from viz.runtime import configure_runtime  # noqa: E402

configure_runtime()


def pytest_sessionfinish(session, exitstatus):
    """No tests collected is a failure, never a silent success (pytest's exit code 5)."""
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def backbone():
    """VGG16 with the real offline (HED) convolutional weights."""
    from viz.model import load_backbone

    return load_backbone("hed")


@pytest.fixture(scope="session")
def classifier_backbone(backbone):
    """The offline conv weights plus a small random classifier head built here, for tests that
    need class logits (the real ImageNet head cannot be downloaded offline)."""
    import keras

    from viz.model import Backbone

    keras.utils.set_random_seed(0)
    head = (keras.layers.GlobalAveragePooling2D(name="flatten"),
            keras.layers.Dense(4096, activation="relu", name="fc2"),
            keras.layers.Dense(1000, name="predictions"))
    x = keras.Input((None, None, 512))
    for layer in head:  # build the weights now
        x = layer(x)
    return Backbone(backbone.convolutional, head, source="hed+test-head",
                    note="Test head: random weights.", head_side=None)


@pytest.fixture(scope="session")
def photo():
    """A real photo (the cat example), small."""
    from viz import images

    return images.fit_long_side(images.load_image(str(ROOT / "examples" / "cat.jpg")), 96)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url(backbone):
    """The app, launched in this process on 127.0.0.1 with the offline weights."""
    import app

    demo = app.launch(app.build_app(backbone), block=False, server_name="127.0.0.1",
                      server_port=free_port(), quiet=True)
    yield demo.local_url
    demo.close()


@pytest.fixture(scope="session")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


@pytest.fixture
def random_image():
    return (np.random.default_rng(0).random((40, 60, 3)) * 255).astype(np.uint8)
