"""The ImageNet path as every Space visitor meets it: VGG16 with its real 224×224 classifier (the
offline filters plus a seeded random head, loaded through the `imagenet` source), and defaults that
do not depend on the features' scale."""

import keras
import numpy as np
import pytest

from conftest import ROOT, scaled_backbone
from viz import activations as Act
from viz import attribution as A
from viz import images, model
from viz.io import imagefiles, weights
from viz import reconstruct as R
from viz import style as S
from viz import visualize as V
from viz.errors import InputError


def test_the_imagenet_source_has_the_real_head(classifier_backbone):
    fc1 = model.layer_by_name(classifier_backbone, "fc1").get_weights()[0]
    assert fc1.shape == (7 * 7 * 512, 4096)
    assert classifier_backbone.layer_names[-4:] == ["flatten", "fc1", "fc2", "predictions"]
    assert model.extractor(classifier_backbone, ["fc2"]).input_shape == (None, 224, 224, 3)
    assert model.extractor(classifier_backbone, ["block5_conv3"]).input_shape == (None, None, None, 3)


def test_any_image_size_reaches_the_head_as_224(classifier_backbone, photo):
    logits = model.features(classifier_backbone, images.to_float(photo)[None], ["predictions"])["predictions"]
    square = images.to_float(images.resize(photo, (224, 224)))[None]
    direct = model.extractor(classifier_backbone, ["predictions"])(model.preprocess(square))["predictions"]
    assert logits.shape == (1, 1000)
    assert np.argmax(logits) == np.argmax(direct)


def test_a_weights_file_path_loads_the_same_classifier(imagenet_file, classifier_backbone):
    loaded = weights.file_backbone(imagenet_file)
    assert loaded.has_classifier and "with the classifier" in loaded.note
    for name in ("block3_conv2", "fc1", "predictions"):
        np.testing.assert_array_equal(model.layer_by_name(loaded, name).get_weights()[0],
                                      model.layer_by_name(classifier_backbone, name).get_weights()[0])


def test_a_weights_file_whose_top_has_the_wrong_shape_is_refused_in_one_sentence(backbone, tmp_path):
    from conftest import write_imagenet_layout

    inputs = keras.Input((224, 224, 3))
    x = backbone.convolutional(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="flatten")(x)
    for name, units in (("fc1", 4096), ("fc2", 4096), ("predictions", 1000)):
        x = keras.layers.Dense(units, name=name)(x)
    flat = keras.Model(inputs, x)
    layers = backbone.convolutional.layers + flat.layers[2:]
    path = tmp_path / "pooled_head.h5"
    write_imagenet_layout(type("Model", (), {"layers": layers})(), str(path))
    with pytest.raises(weights.WeightsError, match=r"fc1 .* 512×4096.* 25088×4096") as err:
        weights.file_backbone(str(path))
    assert str(err.value).count(". ") <= 1 and "Traceback" not in str(err.value)


def test_top5_and_fc2(classifier_backbone, photo):
    result = Act.activations(classifier_backbone, photo, Act.ActivationsRun(layers=["block1_conv1"]))
    labels = [label for label, _ in result.top5]
    probabilities = [p for _, p in result.top5]
    logits = model.features(classifier_backbone, images.to_float(result.photo)[None], ["predictions"])["predictions"][0]
    assert labels[0] == model.imagenet_labels()[int(np.argmax(logits))]
    assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1.0 + 1e-6
    assert result.fc2.shape == (256, 256, 3) and result.fc2.std() > 5


def test_attribution_with_no_target_explains_the_top_classes(classifier_backbone, photo):
    results = A.attribution(classifier_backbone, photo, A.AttributionRun(methods=["Grad-CAM", "gradient"], top=2))
    seen = images.fit_for_network(photo, 224)
    logits = model.features(classifier_backbone, images.to_float(seen)[None], ["predictions"])["predictions"][0]
    best = [model.imagenet_labels()[i] for i in np.argsort(-logits)[:2]]
    assert [r.target.text for r in results] == best
    for r in results:
        assert r.photo.shape == seen.shape
        assert all(m.shape == r.photo.shape[:2] and m.max() > 0 for m in r.maps.values())


@pytest.mark.parametrize("layer", ["fc1", "fc2", "predictions"])
def test_classifier_layers_invert(classifier_backbone, photo, layer):
    runs = list(R.reconstruct(classifier_backbone, photo, R.ReconstructionRun([layer], steps=6, size=64, every=3)))
    assert runs[-1].feature_error[0] < runs[0].feature_error[0]
    assert runs[-1].images[0].shape == images.fit_for_network(photo, 64).shape  # the user's size and aspect


EIGHT_CLASSES = ["goldfish", "tabby", "school bus", "volcano", "flamingo", "pizza", "lemon", "castle"]


def test_a_batch_of_eight_classes_from_noise(classifier_backbone):
    runs = list(V.visualize(classifier_backbone, V.VisualizationRun(EIGHT_CLASSES, steps=2, size=64, every=1)))
    assert [t.text for t in runs[-1].targets] == EIGHT_CLASSES
    assert all(im.shape == (64, 64, 3) for im in runs[-1].images)
    assert np.mean(runs[-1].responses) > np.mean(runs[0].responses)
    assert all(0.0 <= p <= 1.0 for p in runs[-1].probabilities)


@pytest.mark.parametrize("octaves", [1, 2, 3, 4])
def test_class_targets_from_a_photo_keep_the_size_at_any_octave(classifier_backbone, photo, octaves):
    runs = list(V.visualize(classifier_backbone, V.VisualizationRun(["goldfish", "tabby"], steps=octaves, size=80,
                                                                octaves=octaves, every=1), photo))
    assert runs[-1].step == octaves
    assert [im.shape for im in runs[-1].images] == [images.fit_for_network(photo, 80).shape] * 2


def test_classes_channels_and_layers_in_one_batch(classifier_backbone):
    runs = list(V.visualize(classifier_backbone, V.VisualizationRun("tabby, block4_conv3:42, block3_conv1", steps=4, size=64,
                                                                every=2)))
    assert [t.kind for t in runs[-1].targets] == ["class", "channel", "layer"]
    assert runs[-1].probabilities[0] is not None and runs[-1].probabilities[1:] == [None, None]
    assert len({im.tobytes() for im in runs[-1].images}) == 3


def test_the_probability_under_jitter_sees_different_copies(photo):
    copies = V.jittered_copies(images.to_float(images.resize(photo, (64, 64))), 8, seed=0).numpy()
    assert copies.shape[0] == 8
    different = [np.abs(copies[i] - copies[j]).mean() > 1e-3 for i in range(8) for j in range(i + 1, 8)]
    assert all(different)


@pytest.mark.parametrize("kwargs,message", [({"size": 5000}, "Image size must be between"),
                                            ({"steps": 0}, "Steps must be between"),
                                            ({"octaves": 9, "start": "photo"}, "Octaves must be between")])
def test_class_targets_check_their_limits(classifier_backbone, photo, kwargs, message):
    start = photo if kwargs.pop("start", None) == "photo" else None
    with pytest.raises(InputError, match=message):
        next(V.visualize(classifier_backbone, V.VisualizationRun("tabby", **{"steps": 4, "size": 64, **kwargs}), start))


# ---------------------------------------------------------------- defaults that hold for any weights


@pytest.fixture(scope="module")
def loud_backbone(backbone):
    """Every feature exactly 16× the offline weights' (see conftest.scaled_backbone). A power of two
    keeps every floating-point operation exact, so a default that is truly scale-free gives the same
    picture to the bit, and any difference is the default's dependence on scale, not rounding."""
    return scaled_backbone(backbone, 16.0)


def test_the_scaled_backbone_scales_every_feature(backbone, loud_backbone, photo):
    names = ["block1_conv2", "block3_conv3", "block5_conv3"]
    plain = model.features(backbone, images.to_float(photo)[None], names)
    loud = model.features(loud_backbone, images.to_float(photo)[None], names)
    for name in names:
        np.testing.assert_array_equal(loud[name], 16 * plain[name])


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(float) - b.astype(float)).mean())


def test_style_defaults_do_not_depend_on_the_features_scale(backbone, loud_backbone, photo):
    style = imagefiles.load_image(str(ROOT / "examples" / "styles" / "mosaic.jpg"))

    def final(net, **kwargs):
        run = S.TransferRun(size=64, steps=10, every=10, fast=False, **kwargs)
        return list(S.style_transfer(net, photo, style, run))[-1].images[0]

    content = images.fit_for_network(photo, 64)
    default, default_loud = final(backbone), final(loud_backbone)
    tutorial, tutorial_loud = final(backbone, weights=S.TUTORIAL_WEIGHTS), final(loud_backbone, weights=S.TUTORIAL_WEIGHTS)
    assert mean_difference(default, content) > 5  # it did stylize
    assert mean_difference(default, default_loud) < 0.01
    assert mean_difference(tutorial, tutorial_loud) > 1.0  # the tutorial's raw terms do depend on it


def test_reconstruction_defaults_do_not_depend_on_the_features_scale(backbone, loud_backbone, photo):
    def final(net):
        return list(R.reconstruct(net, photo, R.ReconstructionRun(["block3_conv1"], steps=10, size=64, every=10)))[-1].images[0]

    assert mean_difference(final(backbone), final(loud_backbone)) < 0.01


def test_visualization_defaults_do_not_depend_on_the_features_scale(backbone, loud_backbone):
    def final(net):
        return list(V.visualize(net, V.VisualizationRun("block4_conv1:7, block3_conv2", steps=8, size=64, every=8,
                                                     fast=False)))[-1].images

    plain, loud = final(backbone), final(loud_backbone)
    assert all(mean_difference(a, b) < 0.01 for a, b in zip(plain, loud))
