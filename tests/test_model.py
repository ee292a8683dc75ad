"""Weights sources, the fallback, preprocessing and extractors cut at the deepest layer."""

import keras
import numpy as np
import pytest

from viz import model
from viz.io import weights
from viz.errors import InputError


def block1_kernel(backbone):
    return backbone.convolutional.get_layer("block1_conv1").get_weights()[0]


def test_offline_weights_are_real_learned_filters(backbone):
    assert backbone.source == "hed" and not backbone.has_classifier
    assert block1_kernel(backbone).shape == (3, 3, 3, 64)
    # Trained filters are structured (edges, blobs): the weights at the 9 window positions are
    # strongly correlated (|r| about 0.4 here), where a random init gives about 0.05.
    for layer in ("block1_conv1", "block3_conv1"):
        kernel = backbone.convolutional.get_layer(layer).get_weights()[0]
        r = np.corrcoef(kernel.reshape(9, -1))
        assert np.abs(r[np.triu_indices(9, 1)]).mean() > 0.25


def test_features_respond_to_image_content(backbone, photo):
    feats = model.features(backbone, photo[None] / 255.0, ["block3_conv1", "block5_conv3"])
    flat = model.features(backbone, np.full_like(photo, 128)[None] / 255.0, ["block3_conv1"])
    assert feats["block3_conv1"].shape[1:3] == (photo.shape[0] // 4, photo.shape[1] // 4)
    assert feats["block3_conv1"].std() > 3 * flat["block3_conv1"].std()


def test_extractor_is_cut_after_the_deepest_layer(backbone):
    names = [layer.name for layer in model.extractor(backbone, ["block2_conv2"]).layers]
    assert names[-1] == "block2_conv2" and not any(n.startswith(("block3", "block4", "block5")) for n in names)
    assert model.extractor(backbone, ["block2_conv2"]) is model.extractor(backbone, ("block2_conv2",))


def test_unknown_layer_is_a_clear_error(backbone):
    with pytest.raises(InputError, match="Unknown layer 'block9_conv1'"):
        model.extractor(backbone, ["block9_conv1"])


def test_preprocess_is_vggs_own():
    x = np.zeros((1, 2, 2, 3), np.float32)
    x[..., 0] = 1.0  # pure red
    out = np.asarray(model.preprocess(x))[0, 0, 0]
    np.testing.assert_allclose(out, [-103.939, -116.779, 255 - 123.68], atol=1e-3)  # BGR, minus the mean


def test_imagenet_falls_back_to_offline_weights_without_network(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(weights, "reachable", lambda host, timeout=3.0: False)
    backbone = weights.imagenet_backbone()
    assert backbone.source == "hed" and "Fell back" in backbone.note and "cannot be reached" in backbone.note


def test_a_failed_download_falls_back_too(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(weights, "reachable", lambda host, timeout=3.0: True)

    def broken_download(*args, **kwargs):
        raise ConnectionError("connection reset")

    monkeypatch.setattr(keras.utils, "get_file", broken_download)
    backbone = weights.imagenet_backbone()
    assert backbone.source == "hed" and "ConnectionError" in backbone.note


def test_source_comes_from_argument_then_environment(monkeypatch):
    monkeypatch.setenv(weights.WEIGHTS_ENV, "hed")
    assert weights.resolve_source(None) == "hed"
    assert weights.resolve_source("/some/file.h5") == "/some/file.h5"
    monkeypatch.delenv(weights.WEIGHTS_ENV)
    assert weights.resolve_source(None) == "imagenet"


def test_local_keras_weights_file(backbone, tmp_path, photo):
    path = str(tmp_path / "vgg16_notop.weights.h5")
    backbone.convolutional.save_weights(path)
    loaded = weights.file_backbone(path)
    assert loaded.source == path and not loaded.has_classifier
    np.testing.assert_array_equal(block1_kernel(loaded), block1_kernel(backbone))


def test_local_legacy_h5_file_like_the_imagenet_download(backbone, tmp_path):
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    path = str(tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, backbone.convolutional)
    loaded = weights.file_backbone(path)
    np.testing.assert_array_equal(block1_kernel(loaded), block1_kernel(backbone))


def test_local_hed_layout_file(backbone):
    loaded = weights.file_backbone(weights.hed_weights_path())
    assert "HED layout" in loaded.note
    np.testing.assert_array_equal(block1_kernel(loaded), block1_kernel(backbone))


@pytest.mark.parametrize("content,message", [(None, "not found"), (b"garbage" * 100, "not a readable HDF5"),
                                             ("empty-h5", "does not hold VGG16 weights")])
def test_bad_weights_files_give_clear_errors(tmp_path, content, message):
    path = tmp_path / "weights.h5"
    if content == "empty-h5":
        import h5py
        h5py.File(path, "w").close()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(weights.WeightsError, match=message):
        weights.file_backbone(str(path))


def test_labels_are_the_1000_imagenet_classes_offline():
    labels = model.imagenet_labels()
    assert len(labels) == len(set(labels)) == 1000
    assert labels[281] == "tabby" and labels[0] == "tench"
    assert model.class_index("Tabby") == 281
    with pytest.raises(InputError, match="Unknown ImageNet class"):
        model.class_index("unicorn")


def test_a_full_vgg16_splits_into_a_convolutional_part_and_the_classifier(backbone):
    # The shape of what the ImageNet download gives (random weights here: no network in tests).
    full = keras.applications.VGG16(weights=None, classifier_activation=None)
    split = weights.from_full_model(full, "imagenet", "test")
    assert split.has_classifier and split.input_side(["fc1"]) == 224 and split.input_side(["block5_pool"]) is None
    assert split.layer_names[-4:] == ["flatten", "fc1", "fc2", "predictions"]
    any_size = model.features(split, np.zeros((1, 100, 140, 3), np.float32), ["block5_conv3"])
    assert any_size["block5_conv3"].shape == (1, 6, 8, 512)  # the conv part takes any size
    logits = model.features(split, np.zeros((1, 224, 224, 3), np.float32), ["predictions"])["predictions"]
    assert logits.shape == (1, 1000)
    assert model.extractor(split, ["fc2"]).input_shape == (None, 224, 224, 3)
