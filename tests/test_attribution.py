"""Attribution maps: shapes and ranges, channel sanity, the model-randomization check, clear errors."""

import keras
import numpy as np
import pytest

from viz import attribution as A
from viz.errors import InputError
from viz.model import Backbone, features
from viz.sanity import rank_correlation


def test_maps_have_the_photos_shape_and_unit_range(backbone, photo):
    (result,) = A.attribution(backbone, photo, A.AttributionRun("block5_conv3:7", samples=4, size=96))
    assert list(result.maps) == list(A.DEFAULT_METHODS)
    for heat in result.maps.values():
        assert heat.shape == result.photo.shape[:2] == (64, 96)
        assert heat.min() >= 0 and heat.max() <= 1.0 + 1e-6
    assert result.layer == "block5_conv3"


@pytest.mark.parametrize("shape", [(50, 130, 3), (97, 61, 3)])
def test_odd_sizes(backbone, shape):
    photo = (np.random.default_rng(0).random(shape) * 255).astype(np.uint8)
    (result,) = A.attribution(backbone, photo, A.AttributionRun("block4_conv1", methods=["Grad-CAM", "gradient"], size=64))
    assert all(m.shape == result.photo.shape[:2] for m in result.maps.values())


def test_a_channels_gradcam_peaks_where_the_channel_fires(backbone, photo):
    # Grad-CAM at an earlier layer than the channel's own, so the check is not circular.
    acts = features(backbone, photo[None] / 255.0, ["block4_conv3"])["block4_conv3"][0]
    channel = int(np.argmax(acts.max(axis=(0, 1))))  # a channel that clearly fires here
    (result,) = A.attribution(backbone, photo, A.AttributionRun(f"block4_conv3:{channel}", methods=["Grad-CAM"],
                                                              layer="block4_conv2", size=96))
    own = A.upsample(acts[..., channel], result.photo.shape[:2])
    peak = np.unravel_index(np.argmax(result.maps["Grad-CAM"]), own.shape)
    assert own[peak] > 0.5  # the Grad-CAM peak lies in the channel's own hot region
    assert rank_correlation(result.maps["Grad-CAM"], own) > 0.5


def test_gradcam_layer_falls_back_to_the_targets_own_layer(backbone):
    target = A.parse_target(backbone, "block3_conv2:5")
    assert A.gradcam_layer(backbone, target, "block5_conv3") == "block3_conv2"
    assert A.gradcam_layer(backbone, target, "block2_conv1") == "block2_conv1"
    with pytest.raises(InputError, match="needs a conv layer"):
        A.gradcam_layer(backbone, target, "block2_pool")


def randomized(backbone) -> Backbone:
    """The same network with freshly initialized (untrained) weights."""
    keras.utils.set_random_seed(123)
    conv = keras.applications.VGG16(weights=None, include_top=False, input_shape=(None, None, 3))
    return Backbone(conv, (), source="random", note="randomized")


# Adebayo et al. (2018) call a method trustworthy when its maps depend on what the model learned:
# with randomized weights the map must change. We require a Spearman rank correlation below 0.5
# between the trained and the randomized map (their figures show faithful methods falling to about
# 0-0.4 and failing ones, like guided backprop, staying near 0.8-1). Every method the app offers passes.
SANITY_THRESHOLD = 0.5


@pytest.mark.parametrize("method", A.METHODS)
def test_model_randomization_sanity_check(backbone, photo, method):
    random_net = randomized(backbone)
    target = "block5_conv3"  # the whole layer: the same target exists in both networks
    run = A.AttributionRun(target, methods=[method], samples=8, size=96, rise_masks=64, scorecam_channels=16)
    trained = A.attribution(backbone, photo, run)[0].maps[method]
    untrained = A.attribution(random_net, photo, run)[0].maps[method]
    rho = rank_correlation(trained, untrained)
    assert rho < SANITY_THRESHOLD, f"{method}: rank correlation {rho:.2f}"


def test_top_classes_with_a_classifier(classifier_backbone, photo):
    results = A.attribution(classifier_backbone, photo, A.AttributionRun(methods=["Grad-CAM"], top=2, size=64))
    assert len(results) == 2 and all(r.target.kind == "class" for r in results)
    assert results[0].score >= results[1].score


def test_smoothgrad_runs_in_batches_of_bounded_pixels(backbone, photo, monkeypatch):
    """Few passes (each a batch of noisy copies), none larger than SMOOTHGRAD_PIXELS: the map is the
    same as from one batch of them all."""
    calls = []
    original = A.score_gradients

    def counting(*args, **kwargs):
        calls.append(args[1].shape[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(A, "score_gradients", counting)
    A.attribution(backbone, photo, A.AttributionRun("block3_conv1", methods=["SmoothGrad"], samples=12, size=64))
    assert calls == [1, 12]  # the plain pass, and 12 copies of 64 px fit one batch
    x = np.asarray(photo, np.float32)[None] / 255.0
    target = A.parse_target(backbone, "block3_conv1")
    monkeypatch.setattr(A, "SMOOTHGRAD_PIXELS", 5 * x.shape[1] * x.shape[2])
    calls.clear()
    chunked = A.smoothgrad(backbone, x[0], target, 0.15, 12, seed=3, fast=False)
    assert calls == [5, 5, 2]
    monkeypatch.setattr(A, "SMOOTHGRAD_PIXELS", 10 ** 9)
    np.testing.assert_allclose(chunked, A.smoothgrad(backbone, x[0], target, 0.15, 12, seed=3, fast=False),
                               atol=1e-4)


@pytest.mark.parametrize("kwargs,message", [
    ({"target": "unicorn"}, "Unknown target"),
    ({"target": ""}, "Name a target"),
    ({"target": "block5_conv3:999"}, "there is no channel 999"),
    ({"target": "tabby"}, "needs the ImageNet classifier"),
    ({"target": "block5_conv3", "methods": ["LIME"]}, "Unknown method"),
    ({"target": "block5_conv3", "samples": 500}, "Samples must be between"),
])
def test_clear_errors(backbone, photo, kwargs, message):
    with pytest.raises(InputError, match=message):
        A.attribution(backbone, photo, A.AttributionRun(**kwargs))
