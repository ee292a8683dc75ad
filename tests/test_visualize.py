"""Class, channel and layer visualization: targets, objectives, presets, on the real offline weights."""

import numpy as np
import pytest

from viz import targets as T
from viz import visualize as V
from viz.errors import InputError


def test_targets_resolve_from_a_string_or_a_list(backbone):
    targets = T.parse_targets(backbone, "block4_conv3:42, block2_conv1")
    assert [(t.kind, t.layer, t.unit) for t in targets] == [("channel", "block4_conv3", 42),
                                                           ("layer", "block2_conv1", None)]
    assert T.parse_targets(backbone, ["block1_conv1:0"])[0].text == "block1_conv1:0"


def test_class_targets_resolve_with_a_classifier(classifier_backbone):
    (target,) = T.parse_targets(classifier_backbone, ["Tabby"])
    assert (target.kind, target.layer, target.unit, target.text) == ("class", "predictions", 281, "tabby")


@pytest.mark.parametrize("targets,message", [
    ("", "at least one target"),
    ("block4_conv3:512", "channels 0 to 511; there is no channel 512"),
    ("block4_conv3:-1", "there is no channel -1"),
    ("block4_conv3:x", "must be a whole number"),
    ("block9_conv1:3", "not a layer with channels"),
    ("block1_pool:3", "not a layer with channels"),
    ("tabby", "needs the ImageNet classifier"),
    ("unicorn", "Unknown target"),
    (",".join(["block1_conv1:1"] * 9), "At most 8 targets"),
])
def test_bad_targets_get_clear_messages(backbone, targets, message):
    with pytest.raises(InputError, match=message):
        T.parse_targets(backbone, targets)


def test_unknown_class_with_a_classifier(classifier_backbone):
    with pytest.raises(InputError, match="Unknown ImageNet class"):
        T.parse_targets(classifier_backbone, "unicorn")


@pytest.mark.parametrize("target", ["block3_conv1:7", "block4_conv2:100", "block2_conv2"])
def test_the_objective_rises_in_a_few_steps(backbone, target):
    runs = list(V.visualize(backbone, V.VisualizationRun(target, steps=12, size=64, every=4)))
    assert runs[-1].responses[0] > runs[0].responses[0]
    assert runs[-1].images[0].shape == (64, 64, 3)


def test_a_dead_channel_still_gets_a_gradient(backbone):
    # Pre-ReLU objective: starting from grey a channel that is silent still rises (its ReLU is off).
    runs = list(V.visualize(backbone, V.VisualizationRun("block5_conv3:3", steps=10, size=64, every=5, preset="raw")))
    assert runs[-1].responses[0] > runs[0].responses[0]
    assert runs[-1].images[0].std() > 1


def test_several_targets_in_one_batch_differ(backbone):
    final = list(V.visualize(backbone, V.VisualizationRun("block3_conv3:1, block3_conv3:2", steps=8, size=64, every=8)))[-1]
    assert len(final.images) == 2 and not np.array_equal(final.images[0], final.images[1])


def test_class_targets_report_a_jittered_probability_at_the_end(classifier_backbone):
    runs = list(V.visualize(classifier_backbone, V.VisualizationRun(["tabby", "block3_conv1:0"], steps=6, size=64,
                                                                every=3)))
    assert runs[0].probabilities == [None, None]
    probability, none = runs[-1].probabilities
    assert 0.0 <= probability <= 1.0 and none is None


def test_deepdream_starts_from_the_photo_over_octaves(backbone, photo):
    runs = list(V.visualize(backbone, V.VisualizationRun("block3_conv1", steps=6, size=96, octaves=2, every=3), photo))
    assert [(r.step, r.images[0].shape[:2]) for r in runs] == [(1, (46, 69)), (3, (46, 69)), (4, (64, 96)),
                                                               (6, (64, 96))]
    first = runs[1].images[0].astype(float)
    assert np.corrcoef(first.ravel(), V.images.resize(photo, (46, 69)).astype(float).ravel())[0, 1] > 0.8


def test_octaves_share_the_steps():
    assert V.octave_plan((100, 140), 10, 3) == [((51, 71), 4), ((71, 100), 3), ((100, 140), 3)]


def test_presets_and_knobs():
    assert V.VisualizationRun(preset="raw").chosen_look().parametrization == "pixels"
    assert V.VisualizationRun(preset="custom", look=V.Look(jitter=0, blur=2.0)).chosen_look().jitter == 0
    assert V.VisualizationRun(preset="lucid", look=V.Look(jitter=0)).chosen_look().jitter == 8  # a preset is as named
    with pytest.raises(InputError, match="Rotation must be between"):
        V.VisualizationRun(preset="custom", look=V.Look(rotate=90)).chosen_look()
    with pytest.raises(InputError, match="Unknown preset"):
        V.VisualizationRun("block1_conv1:0", steps=4, size=64, preset="fancy").checked()
