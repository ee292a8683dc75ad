"""Feature inversion with the real offline weights, at a small size."""

import numpy as np
import pytest

from viz import reconstruct as R
from viz.errors import InputError


def test_error_falls_and_psnr_rises(backbone, photo):
    runs = list(R.reconstruct(backbone, photo, R.ReconstructionRun(["block2_conv2"], steps=30, size=64, every=10)))
    assert [r.step for r in runs] == [1, 10, 20, 30]
    first, last = runs[1], runs[-1]
    assert last.feature_error[0] < 0.7 * first.feature_error[0]
    assert last.psnr[0] > first.psnr[0] + 1
    assert last.images[0].shape == last.target.shape == (48, 64, 3)  # 43 rows snapped to a multiple of 16


def test_deep_layers_in_bfloat16_match_features_as_well_as_float32(backbone, photo, monkeypatch, bfloat16):
    """block3 on computes in the fast precision: where that is bfloat16, judged by the float32
    network, it must invert as well."""
    from viz.model import network

    def float32_error(blocks):
        monkeypatch.setattr(R, "FLOAT32_BLOCKS", blocks)
        *_, last = R.reconstruct(backbone, photo, R.ReconstructionRun(["block3_conv3"], steps=40, size=64, every=40))
        net = network(backbone, ["block3_conv3"])
        goal, got = (np.asarray(net(x[None] / 255.0)["block3_conv3"]) for x in (last.target, last.images[0]))
        return np.linalg.norm(got - goal) / np.linalg.norm(goal)

    half, full = float32_error(R.FLOAT32_BLOCKS), float32_error(R.FLOAT32_BLOCKS + ("block3",))
    assert half < 0.4 and abs(half - full) < 0.05 * full, (half, full)  # measured 0.182, 0.180


def test_it_starts_from_grey_not_from_the_photo(backbone, photo):
    first = next(R.reconstruct(backbone, photo, R.ReconstructionRun(["block1_conv2"], steps=1, size=64, every=1)))
    assert first.images[0].std() < 12  # flat grey plus a whisper of noise
    assert abs(first.images[0].mean() - 128) < 8
    assert abs(first.target.mean() - 128) > 10  # (the photo itself is not grey)


def test_several_layers_run_side_by_side(backbone, photo):
    runs = list(R.reconstruct(backbone, photo, R.ReconstructionRun(["block1_conv2", "block3_conv3"], steps=4, size=64,
                                                                   every=2)))
    assert [r.layers for r in runs][-1] == ["block1_conv2", "block3_conv3"]
    assert len(runs[-1].images) == 2 and len(runs[-1].psnr) == 2


def test_same_seed_same_reconstruction(backbone, photo):
    def final(seed):
        return list(R.reconstruct(backbone, photo, R.ReconstructionRun(["block2_conv1"], steps=3, size=64, seed=seed,
                                                                   every=3, optimizer="adam")))[-1].images[0]
    np.testing.assert_array_equal(final(4), final(4))
    assert not np.array_equal(final(4), final(5))  # the seed is used, not ignored


@pytest.mark.parametrize("kwargs,message", [
    ({"layers": []}, "at least one layer"),
    ({"layers": ["fc1"]}, "needs the ImageNet classifier"),
    ({"layers": ["block9_conv9"]}, "Unknown layer"),
    ({"steps": 0}, "Steps must be between"),
    ({"steps": "many"}, "Steps must be a number"),
    ({"size": 5000}, "Image size must be between"),
    ({"optimizer": "sgd"}, "Unknown optimizer"),
    ({"lr": -1}, "Learning rate must be between"),
    ({"layers": ["block1_conv1"] * 7}, "At most 6 layers"),
])
def test_parameters_are_checked(backbone, photo, kwargs, message):
    with pytest.raises(InputError, match=message):
        next(R.reconstruct(backbone, photo, R.ReconstructionRun(**{"layers": ["block1_conv2"], **kwargs})))
