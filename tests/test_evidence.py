"""Every map with its evidence: the added methods, faithfulness on a model whose right answer is known,
the sanity check live, the channels that carry the evidence, and all of it through the API."""

import keras
import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

from ui.photos import EXAMPLES
from viz import attribution as A
from viz import faithfulness as F
from viz import sanity as S
from viz.model import Backbone
from viz.targets import Target

CHEAP = dict(samples=4, ig_steps=16, occlusion_patch=32, rise_masks=32, scorecam_channels=8)


@pytest.mark.parametrize("target", ["block4_conv3:42", "block3_conv3"])
def test_every_method_gives_a_map_that_is_not_flat(backbone, photo, target):
    (result,) = A.attribution(backbone, photo, A.AttributionRun(target, methods=list(A.METHODS), **CHEAP))
    assert list(result.maps) == list(A.METHODS)
    for method, heat in result.maps.items():
        assert heat.shape == result.photo.shape[:2] and 0 <= heat.min() and heat.max() <= 1 + 1e-6, method
        assert heat.std() > 0.02, f"{method} is flat"


def test_every_method_explains_a_class_of_the_full_shape_classifier(classifier_backbone, photo):
    (result,) = A.attribution(classifier_backbone, photo, A.AttributionRun(methods=list(A.METHODS), size=96, **CHEAP))
    assert result.target.kind == "class"
    assert all(heat.std() > 0.01 for heat in result.maps.values()), {m: h.std() for m, h in result.maps.items()}


def test_integrated_gradients_add_up_to_the_change_of_the_score(backbone, photo):
    """Completeness (Sundararajan et al.): the attributions sum to score(photo) − score(baseline); the
    steps double until they do within 2 %, as far as the default most steps allow."""
    for method in ("IG (black)", "IG (blur)"):
        (result,) = A.attribution(backbone, photo, A.AttributionRun("block4_conv3:42", methods=[method]))
        details = result.details[method]
        assert details["completeness gap"] <= 0.05 and details["steps"] <= A.IG_STEPS.default, details


# ---------------------------------------------------------------- a model whose right answer is known

SIDE = 64
MASK = np.zeros((SIDE, SIDE), np.float32)
MASK[16:40, 8:32] = 1.0  # the only place the model looks


def masked_brightness_model() -> Backbone:
    """A 'network' whose one layer is the photo's brightness where MASK is 1, zero elsewhere: its score
    (the layer's mean) depends on those pixels alone, so the mask is the one right map."""
    inputs = keras.Input((SIDE, SIDE, 3))
    brightness = keras.layers.Conv2D(1, 1, name="brightness")
    masked = keras.layers.Lambda(lambda x: x * MASK[None, ..., None], name="masked")
    model = keras.Model(inputs, masked(brightness(inputs)))
    bgr_mean = np.array([103.939, 116.779, 123.68], np.float32)  # VGG16's preprocessing, undone
    brightness.set_weights([np.full((1, 1, 3, 1), 1 / 3, np.float32), np.array([bgr_mean.mean()], np.float32)])
    return Backbone(model, (), source="hand-made", note="masked brightness", copyable=False)  # a Lambda: not cloned


def test_the_models_own_mask_wins_and_a_constant_map_is_a_random_order():
    photo = np.full((SIDE, SIDE, 3), 240, np.uint8)  # bright everywhere: greying any masked pixel lowers the score
    target = Target("masked", "layer", "masked")
    maps = {"mask": MASK, "inverse": 1 - MASK, "constant": np.full((SIDE, SIDE), 0.5, np.float32)}
    found = F.faithfulness(masked_brightness_model(), photo, target, maps, F.Protocol(patch=8, seeds=5))
    areas = {name: c.area("deletion") for name, c in found.curves.items()}
    assert areas["mask"] == min(areas.values()) < found.baseline("deletion")[0]
    assert found.curves["mask"].gap > max(c.gap for c in found.random) and found.beats_random("mask")
    assert found.curves["inverse"].gap < 0 and not found.beats_random("inverse")
    mean, spread = found.baseline("gap")
    assert abs(found.curves["constant"].gap - mean) <= 3 * spread + 0.02  # ties broken at random: a random order
    assert found.curves["mask"].deletion[-1] == pytest.approx(128 / 240, rel=0.02)  # all grey


def test_a_target_that_does_not_fire_gets_a_message(backbone):
    from viz.errors import InputError
    from viz.model import features

    dark = np.zeros((64, 64, 3), np.uint8)
    silent = int(np.argmin(features(backbone, dark[None] / 255.0, ["block2_conv1"])["block2_conv1"].mean(axis=(0, 1, 2))))
    target = Target(f"block2_conv1:{silent}", "channel", "block2_conv1", silent)
    with pytest.raises(InputError, match="does not respond to this photo"):
        F.faithfulness(backbone, dark, target, {"flat": np.zeros((64, 64))})


# ---------------------------------------------------------------- sanity, live

def test_the_cascading_randomisation_changes_every_gradient_map(backbone, photo):
    run = A.AttributionRun("block3_conv3", methods=list(A.DEFAULT_METHODS), samples=4, size=96)
    *_, last = S.sanity(backbone, photo, run)
    assert last.stages == last.planned == ["block3", "block2", "block1"]  # only the blocks the maps read
    assert all(values[-1] < S.FLAGGED for values in last.correlations.values()), last.correlations
    assert last.flagged() == []


def test_a_map_that_ignores_the_network_is_flagged(backbone, photo, monkeypatch):
    """A 'method' that draws the photo's own edges whatever the weights: the check must say so."""
    def edges(seen, run):
        grey = seen.x.mean(axis=-1)
        return np.abs(np.diff(grey, axis=0, append=grey[-1:])) + np.abs(np.diff(grey, axis=1, append=grey[:, -1:])), {}

    monkeypatch.setitem(A.METHODS, "edges", edges)
    *_, last = S.sanity(backbone, photo, A.AttributionRun("block2_conv2", methods=["edges", "gradient"], size=96))
    assert last.flagged() == ["edges"] and last.correlations["edges"][-1] == pytest.approx(1.0)


# ---------------------------------------------------------------- which channels carry it

def test_the_channels_that_carry_the_evidence(backbone, photo):
    found = A.channel_evidence(backbone, photo, A.AttributionRun("block4_conv3:42", size=96), 5)
    assert found.layer == "block4_conv2"  # the layer just before the target's own
    assert len(found.channels) == len(found.maps) == 5 and found.contributions == sorted(found.contributions)[::-1]
    assert 0 < found.explained <= 1 and all(m.shape == found.photo.shape[:2] for m in found.maps)


# ---------------------------------------------------------------- through the API

def test_attribution_through_the_api_gives_maps_curves_a_table_and_words(client):
    maps, deletion, reverse, insertion, table, words = client.predict(
        handle_file(EXAMPLES[1]), "block4_conv3", list(A.METHODS), "block4_conv3", 0.15, 4, 1, 16, 64, 32, 8,
        api_name="/attribution")
    assert [m["caption"].split(" ·")[0].split(" at ")[0] for m in maps] == list(A.METHODS)
    assert all(np.asarray(Image.open(m["image"])).std() > 5 for m in maps)
    assert {row[2] for row in deletion["data"]} == set(A.METHODS) | {F.RANDOM}
    assert [row[0] for row in table["data"]] == list(A.METHODS) + ["random (3 orders)"]
    assert "removing the 10% of the photo it ranks first" in words and "completeness" in words


def test_sanity_and_channels_through_the_api(client):
    plot, gallery, status = client.predict(handle_file(EXAMPLES[1]), "block2_conv2", ["gradient"],
                                           api_name="/sanity")
    assert status.endswith("done") and {row[0] for row in plot["data"]} == {0, 1, 2}
    assert len(gallery) == 3  # the trained map, then block2 and block1 redrawn
    pictures, words = client.predict(handle_file(EXAMPLES[1]), "block2_conv2:3", "block5_conv3", 1, 2,
                                     api_name="/channels")
    assert len(pictures) == 4 and "block2_conv1:" in words and words.endswith("done")


def test_the_sanity_check_of_a_class_redraws_the_classifier_first(classifier_backbone, photo):
    run = A.AttributionRun(methods=["gradient"], size=64)
    first = next(S.sanity(classifier_backbone, photo, run))
    assert first.trained.target.kind == "class" and first.planned[:2] == ["classifier", "block5"]
    assert first.correlations["gradient"][0] < 0.9  # the class's map moved once its classifier was redrawn
