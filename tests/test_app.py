"""The app end to end: launched on 127.0.0.1, called through gradio_client like any user script."""

from pathlib import Path

import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

import app


def test_model_info_reports_the_weights(client):
    info = client.predict(api_name="/model_info")
    assert info["weights"] == "hed" and info["classifier"] is False
    assert "block5_conv3" in info["layers"]


def test_activations_returns_13_real_grids(client, tmp_path):
    path = tmp_path / "photo.jpg"
    Image.open(app.HERE / "examples" / "coffee.jpg").resize((1000, 900)).save(path)
    grids, heat, top5, fc2 = client.predict(handle_file(str(path)), api_name="/activations")
    assert len(grids) == 13
    assert [g["caption"].split(" ·")[0] for g in grids][:2] == ["block1_conv1", "block1_conv2"]
    picture = np.asarray(Image.open(grids[5]["image"]))
    assert picture.ndim == 3 and picture.std() > 20
    heat_picture = np.asarray(Image.open(heat))
    assert heat_picture.shape[1] == 224 and heat_picture.std() > 10
    assert fc2 is None


def test_activations_parameters(client):
    grids, *_ = client.predict(handle_file(app.EXAMPLES[0]), ["block2_pool", "block4_conv3"], 16,
                               "channel index", "overlay on image", 160, api_name="/activations")
    assert [g["caption"] for g in grids] == [
        "block2_pool · 30×40×128 · 16 of 128 channels by index",
        "block4_conv3 · 15×20×512 · 16 of 512 channels by index",
    ] or all("16 of" in g["caption"] for g in grids)


def test_a_non_image_gets_a_clear_message(client, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(Exception, match="not an image"):
        client.predict(handle_file(str(path)), api_name="/activations")


def test_reconstruct_streams_snapshots_then_files(client):
    job = client.submit(handle_file(app.EXAMPLES[1]), "block2_conv2", 30, None, 64, api_name="/reconstruct")
    updates = list(job)
    assert len(updates) >= 3  # snapshots arrive before the end
    gallery, curve, status, files = updates[-1]
    assert status.startswith("**Step 30 / 30**") and status.endswith("done")
    assert [item["caption"].split(" ·")[0] for item in gallery] == ["input", "block2_conv2"]
    assert sorted(Path(f).suffix for f in files) == [".gif", ".png"]
    with Image.open(next(f for f in files if f.endswith(".gif"))) as gif:
        assert gif.n_frames >= 3
    steps = [row[0] for row in curve["data"]] if isinstance(curve, dict) else None
    assert steps is None or steps == sorted(steps)


def test_reconstruct_refuses_bad_parameters(client):
    with pytest.raises(Exception, match="maximum value 1000|Steps must be between"):
        client.predict(handle_file(app.EXAMPLES[1]), "block2_conv2", 5000, api_name="/reconstruct")


def test_visualize_streams_channel_pictures(client):
    job = client.submit("block4_conv3:42, block2_conv2", 32, 64, api_name="/visualize")
    updates = list(job)
    assert len(updates) >= 2
    gallery, status, files = updates[-1]
    assert status.startswith("**Step 32 / 32**")
    assert [g["caption"].split(" ·")[0] for g in gallery] == ["block4_conv3:42", "block2_conv2"]
    assert np.asarray(Image.open(gallery[0]["image"])).std() > 10 and len(files) == 2


def test_visualize_explains_what_needs_the_classifier(client):
    with pytest.raises(Exception, match="needs the ImageNet classifier"):
        client.predict(["tabby"], api_name="/visualize")


def test_style_transfer_streams_to_the_end(client):
    job = client.submit(handle_file(app.EXAMPLES[1]), handle_file(app.STYLES[0]), 0.0, 4.0, 30, 128, 20,
                        api_name="/style_transfer")
    updates = list(job)
    gallery, curve, status, files = updates[-1]
    assert len(updates) >= 3 and status.startswith("**Step 20 / 20**") and "style" in status
    assert np.asarray(Image.open(gallery[0]["image"])).shape[1] == 128
    assert sorted(Path(f).suffix for f in files) == [".gif", ".png"]
