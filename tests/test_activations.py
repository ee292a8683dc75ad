"""Activation grids, overlay, block5 heat map and the classifier's top 5 on the real offline weights."""

import numpy as np
import pytest

from viz import activations as A
from viz.errors import InputError


def test_one_captioned_grid_per_conv_layer(backbone, photo):
    result = A.activations(backbone, photo)
    assert len(result.grids) == 13
    grid, caption = result.grids[6]
    h, w = result.photo.shape[:2]
    assert (h, w) == (144, 224)  # the photo at the default resolution, its short side snapped to 16 px
    assert caption.startswith(f"block3_conv3 · {h // 4}×{w // 4}×256 · 64 of 256 channels by mean activation")
    assert grid.dtype == np.uint8 and grid.ndim == 3
    assert grid.std() > 20  # real maps, not a flat square
    assert result.top5 is None and result.fc2 is None


def test_channels_are_ranked_by_mean_activation():
    maps = np.zeros((4, 4, 5), np.float32)
    maps[..., 3], maps[..., 1] = 5.0, 2.0
    assert list(A.rank_channels(maps, "mean activation")[:2]) == [3, 1]
    assert list(A.rank_channels(maps, "channel index")) == [0, 1, 2, 3, 4]
    with pytest.raises(InputError):
        A.rank_channels(maps, "random")


def test_grid_shows_the_top_n_with_separators(backbone, photo):
    maps = A.features(backbone, photo[None] / 255.0, ["block1_conv1"])["block1_conv1"][0]
    grid, caption = A.layer_grid("block1_conv1", maps, top=9, order="channel index")
    h, w = A.cell_shape(*maps.shape[:2], columns=3)
    assert grid.shape == (3 * (h + 2) + 2, 3 * (w + 2) + 2, 3)
    assert "9 of 64 channels by index" in caption
    assert (grid[0] == grid[0, 0]).all()  # top separator line


def test_strongest_channel_cell_is_brightest(backbone, photo):
    maps = A.features(backbone, photo[None] / 255.0, ["block2_conv1"])["block2_conv1"][0]
    grid, _ = A.layer_grid("block2_conv1", maps, top=4, order="mean activation")
    h, w = A.cell_shape(*maps.shape[:2], columns=2)
    first = grid[2:2 + h, 2:2 + w]
    assert first.mean() > 10


def test_overlay_shows_the_photo_under_the_maps(backbone, photo):
    maps = A.features(backbone, photo[None] / 255.0, ["block4_conv1"])["block4_conv1"][0]
    plain, _ = A.layer_grid("block4_conv1", maps, top=4, order="mean activation")
    over, _ = A.layer_grid("block4_conv1", maps, top=4, order="mean activation", photo=photo)
    h, w = A.cell_shape(*maps.shape[:2], columns=2)
    cell = over[2:2 + h, 2:2 + w].astype(float)
    photo_grey = A.images.grey(A.images.resize(photo, (h, w))).astype(float)
    # cold regions show the grey photo itself
    cold = A.resize_maps(maps[..., A.rank_channels(maps, "mean activation")[:1]], (h, w))[0] < 1e-3
    assert cold.sum() > 10  # the strongest channel is silent somewhere, or this test shows nothing
    assert np.abs(cell[cold] - photo_grey[cold]).mean() < 5
    assert not np.array_equal(plain, over)


def test_heatmap_matches_the_photo_size(backbone, photo):
    result = A.activations(backbone, photo, A.ActivationsRun(layers=["block1_conv1"]))
    assert result.heatmap.shape == result.photo.shape
    assert len(result.grids) == 1


def test_with_a_classifier_there_are_five_labels_and_fc2(classifier_backbone, photo):
    result = A.activations(classifier_backbone, photo, A.ActivationsRun(layers=["block5_pool"]))
    assert len(result.top5) == 5
    probs = [p for _, p in result.top5]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001
    assert all(isinstance(label, str) and label for label, _ in result.top5)
    assert result.fc2.shape == (256, 256, 3)


def test_only_layers_with_feature_maps_each_once(backbone, photo):
    from viz.errors import InputError

    assert A.check_map_layers(backbone, ["block2_pool", "block1_conv1", "block2_pool"]) == ["block1_conv1", "block2_pool"]
    assert len(A.check_map_layers(backbone, None)) == 13
    with pytest.raises(InputError, match="has no feature maps"):
        A.check_map_layers(backbone, ["block1_conv1", "fc1"])
