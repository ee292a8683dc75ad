"""The app end to end: launched on 127.0.0.1, called through gradio_client like any user script."""

from pathlib import Path

import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

from ui.page import details, header
from ui.photos import EXAMPLES, ROOT
from ui.style import STYLES


def test_model_info_reports_the_weights(client):
    info = client.predict(api_name="/model_info")
    assert info["weights"] == "hed" and info["classifier"] is False
    assert "block5_conv3" in info["layers"]


def test_model_info_and_the_page_say_which_precision_runs_and_why(client, backbone):
    from viz.precision import fast_precision

    info = client.predict(api_name="/model_info")
    chosen = fast_precision()
    assert (info["precision"], info["precision_reason"]) == (chosen.name, chosen.reason)
    assert f"**Precision: {chosen.name}**, because {chosen.reason}" in details(backbone)
    assert "Precision" not in header(backbone)  # the header speaks plainly; the details are on demand
    assert "light up edges and background" in header(backbone)  # the offline weights say what they do


def test_activations_returns_13_real_grids(client, tmp_path):
    path = tmp_path / "photo.jpg"
    Image.open(ROOT / "examples" / "coffee.jpg").resize((1000, 900)).save(path)
    grids, heat, top5, fc2 = client.predict(handle_file(str(path)), api_name="/activations")
    assert len(grids) == 13
    assert [g["caption"].split(" ·")[0] for g in grids][:2] == ["block1_conv1", "block1_conv2"]
    with Image.open(grids[5]["image"]) as written:
        assert written.mode == "P"  # a colormapped grid travels as a palette PNG (2.4× fewer bytes)
        picture = np.asarray(written.convert("RGB"))
    assert picture.std() > 20
    heat_picture = np.asarray(Image.open(heat))
    assert heat_picture.shape[1] == 224 and heat_picture.std() > 10
    assert fc2 is None


def test_activations_parameters(client):
    grids, *_ = client.predict(handle_file(EXAMPLES[0]), ["block2_pool", "block4_conv3"], 16,
                               "channel index", "overlay on image", 160, api_name="/activations")
    assert EXAMPLES[0] == "examples/astronaut.jpg"  # square: 160 px gives 40×40 after two pools
    assert [g["caption"] for g in grids] == [
        "block2_pool · 40×40×128 · 16 of 128 channels by index · 61 silent",
        "block4_conv3 · 20×20×512 · 16 of 512 channels by index · 18 silent",
    ]


def test_a_non_image_gets_a_clear_message(client, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(Exception, match="not an image"):
        client.predict(handle_file(str(path)), api_name="/activations")


def test_reconstruct_streams_snapshots_then_files(client):
    job = client.submit(handle_file(EXAMPLES[1]), "block2_conv2", 30, None, 64, api_name="/reconstruct")
    updates = list(job)
    assert len(updates) >= 3  # snapshots arrive before the end
    gallery, curve, status, files = updates[-1]
    assert status.startswith("**Step 30 / 30**") and status.endswith("done")
    assert [item["caption"].split(" ·")[0] for item in gallery] == ["input", "block2_conv2"]
    assert sorted(Path(f).suffix for f in files) == [".gif", ".png"]
    with Image.open(next(f for f in files if f.endswith(".gif"))) as gif:
        assert gif.n_frames >= 3
    assert curve["columns"] == ["step", "log10 loss", "layer"]
    assert [row[0] for row in curve["data"]] == [1, 10, 20, 30] and {row[2] for row in curve["data"]} == {"block2_conv2"}
    assert all(isinstance(row[1], float) for row in curve["data"])


def is_png(path: str) -> bool:
    with Image.open(path) as picture:
        return picture.format == "PNG"


def test_galleries_come_back_as_lossless_png(client):
    # WebP, Gradio's default, would change the pixels that the PSNR captions describe.
    reconstruction, *_ = client.predict(handle_file(EXAMPLES[1]), "block1_conv1", 10, None, 64,
                                        api_name="/reconstruct")
    visualization, *_ = client.predict("block2_conv2:3", 16, 64, api_name="/visualize")
    maps, *_ = client.predict(handle_file(EXAMPLES[1]), "block3_conv3", ["gradient"], api_name="/attribution")
    for gallery in (reconstruction, visualization, maps):
        assert gallery and all(is_png(item["image"]) for item in gallery)


def test_attribution_needs_only_the_image(client):
    maps, *_, words = client.predict(handle_file(EXAMPLES[1]), api_name="/attribution")
    assert [m["caption"].split(" ·")[0] for m in maps] == ["Grad-CAM at block5_conv3", "Grad-CAM++ at block5_conv3",
                                                          "gradient", "SmoothGrad"]
    assert all(" · gap " in m["caption"] for m in maps) and "**block5_conv3** scored again (mean activation" in words


def test_reconstruct_refuses_bad_parameters(client):
    with pytest.raises(Exception, match="maximum value 1000|Steps must be between"):
        client.predict(handle_file(EXAMPLES[1]), "block2_conv2", 5000, api_name="/reconstruct")


def test_visualize_streams_channel_pictures(client):
    job = client.submit("block4_conv3:42, block2_conv2", 32, 64, api_name="/visualize")
    updates = list(job)
    assert len(updates) >= 2
    gallery, status, files = updates[-1]
    assert status.startswith("**Step 32 / 32**")
    assert "[block4_conv3:42](?unit=block4_conv3:42)" in status and "?unit=block2_conv2" not in status  # units link
    assert [g["caption"].split(" ·")[0] for g in gallery] == ["block4_conv3:42", "block2_conv2"]
    assert np.asarray(Image.open(gallery[0]["image"])).std() > 10 and len(files) == 2


def test_visualize_explains_what_needs_the_classifier(client):
    with pytest.raises(Exception, match="needs the ImageNet classifier"):
        client.predict(["tabby"], api_name="/visualize")


def test_style_transfer_streams_to_the_end(client):
    job = client.submit(handle_file(EXAMPLES[1]), handle_file(STYLES[0]), 0.0, 4.0, 30, 128, 20,
                        api_name="/style_transfer")
    updates = list(job)
    gallery, curve, status, files = updates[-1]
    assert len(updates) >= 3 and status.startswith("**Step 20 / 20**") and "style" in status
    assert np.asarray(Image.open(gallery[0]["image"])).shape[1] == 128
    assert sorted(Path(f).suffix for f in files) == [".gif", ".png"]
    assert {row[2] for row in curve["data"]} == {"style", "content", "tv"}
    assert f"· {gallery[0]['caption']} ·" in status  # the stage's size, coarse to fine


def test_a_streamed_run_ends_with_files_that_exist_and_an_empty_run_says_so():
    from ui.streaming import Outputs, View, stream

    def run(steps):
        for step in range(1, steps + 1):
            picture = np.full((8, 8, 3), 40 * step, np.uint8)
            yield View(step, 3, 0.0, ([(picture, "grey")],), pngs={"grey": picture},
                       curve=[{"step": step, "log10 loss": 0.0}], frame=picture)

    outputs = Outputs(curve=True, files=True, gif="run")
    *_, (gallery, curve, status, files) = stream(run(3), outputs, 0)  # the run is over
    assert status.endswith("· done") and list(curve["step"]) == [1, 2, 3]
    assert sorted(Path(f).name for f in files) == ["grey.png", "run.gif"] and all(Path(f).is_file() for f in files)
    assert list(stream(run(0), Outputs(files=True), 0)) == [(None, "**No result**: the run ended before its first step.",
                                                              None)]
