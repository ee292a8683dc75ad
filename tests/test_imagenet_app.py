"""Every classifier feature through the API and in a real browser, with the app launched as a Space
runs it: VGG16 with its 224×224 head (the full-shape fixture of conftest)."""

import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

from ui.photos import EXAMPLES
from viz import attribution as attr
from conftest import open_page

CAT = EXAMPLES[1]


def png(path) -> np.ndarray:
    """A returned picture, which must come back losslessly."""
    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im.convert("RGB"))


def test_model_info_says_classifier(classifier_client):
    info = classifier_client.predict(api_name="/model_info")
    assert info["weights"] == "imagenet" and info["classifier"] is True
    assert info["layers"][-3:] == ["fc1", "fc2", "predictions"]


def test_activations_give_top5_and_fc2(classifier_client):
    grids, heat, top5, fc2 = classifier_client.predict(handle_file(CAT), api_name="/activations")
    assert len(top5["confidences"]) == 5 and top5["label"] == top5["confidences"][0]["label"]
    assert png(fc2).shape == (256, 256, 3)


def test_attribution_with_only_the_image_explains_the_top_classes(classifier_client):
    maps, *_ = classifier_client.predict(handle_file(CAT), api_name="/attribution")
    _, _, top5, _ = classifier_client.predict(handle_file(CAT), api_name="/activations")
    best = [c["label"] for c in top5["confidences"][:attr.TOP.default]]
    shown = list(dict.fromkeys(m["caption"].split(" · ")[1].split(" (")[0] for m in maps))
    assert shown == best and len(maps) == attr.TOP.default * 4
    assert png(maps[0]["image"]).std() > 10


@pytest.mark.parametrize("layer", ["fc1", "predictions"])
def test_reconstruct_from_the_classifier(classifier_client, layer):
    gallery, curve, status, files = classifier_client.predict(handle_file(CAT), layer, 10, None, 64,
                                                              api_name="/reconstruct")
    assert status.startswith("**Step") and gallery[1]["caption"].startswith(layer)
    assert png(gallery[1]["image"]).shape[1] == 64


def test_visualize_classes_from_noise(classifier_client):
    classes = ["goldfish", "school bus", "volcano"]  # a batch of eight: test_imagenet_path.py
    gallery, status, files = classifier_client.predict(classes, 16, 64, api_name="/visualize")
    assert [g["caption"].split(" ·")[0] for g in gallery] == classes
    assert all("under jitter" in g["caption"] for g in gallery)
    assert all(png(g["image"]).std() > 5 for g in gallery)


def test_deepdream_of_classes_from_a_photo_over_octaves(classifier_client):
    gallery, status, files = classifier_client.predict(
        ["goldfish", "block4_conv3:42", "block3_conv1"], 16, 96, "lucid", "photo", handle_file(CAT), 2,
        api_name="/visualize")
    assert "Step 16 / 16" in status
    assert [png(g["image"]).shape[:2] for g in gallery] == [(64, 96)] * 3  # the photo's aspect at 96 px


def test_a_class_with_offline_weights_is_still_a_clear_message(client):
    with pytest.raises(Exception, match="needs the ImageNet classifier"):
        client.predict(["goldfish"], 16, 64, api_name="/visualize")
    assert client.predict(api_name="/model_info")["weights"] == "hed"  # and the server is fine


@pytest.fixture(scope="module")
def page(classifier_app_url):
    yield from open_page(classifier_app_url)


def test_browser_top5_and_fc2(page, tmp_path):
    panel = page.locator("#tab-activations")
    panel.locator("button:has(img)").nth(1).click()  # the cat example
    page.locator("#activations-image img").wait_for()
    panel.get_by_role("button", name="Show activations").click()
    page.wait_for_function("document.querySelectorAll('#activation-grids img').length >= 13", timeout=90_000)
    panel.get_by_text("Top-5 ImageNet classes").wait_for()
    page.locator("#fc2-picture img").wait_for(timeout=30_000)
    assert "%" in page.locator("#top5").inner_text()  # the five labels with their probabilities
    page.screenshot(path=str(tmp_path / "imagenet-activations.png"), full_page=True)


def test_browser_searches_the_1000_labels(page):
    page.get_by_role("tab", name="Class visualization").click()
    box = page.locator("#tab-visualization input[role=listbox], #tab-visualization input").first
    box.click()
    box.fill("goldf")
    page.get_by_role("option", name="goldfish").first.wait_for(timeout=10_000)
    box.fill("school b")
    page.get_by_role("option", name="school bus").first.wait_for(timeout=10_000)
