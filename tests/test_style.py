"""Style transfer: the tutorial's terms on hand-computed cases, and runs on the real offline weights."""

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from viz import style as S
from viz.io import imagefiles
from viz.errors import InputError

STYLES = Path(__file__).resolve().parent.parent / "examples" / "styles"


def test_gram_matches_a_hand_computed_case():
    f = np.zeros((1, 2, 2, 2), np.float32)
    f[0, :, :, 0] = [[1, 2], [3, 4]]
    f[0, :, :, 1] = [[1, 0], [0, 1]]
    g = S.gram(tf.constant(f)).numpy()[0]
    # Σ F⊗F / (H·W): [[1+4+9+16, 1+4], [1+4, 2]] / 4
    np.testing.assert_allclose(g, [[7.5, 1.25], [1.25, 0.5]])


def test_gram_in_bfloat16_keeps_float32_sums():
    f = np.random.default_rng(0).random((1, 64, 64, 16), np.float32)
    exact = S.gram(tf.constant(f)).numpy()
    fast = S.gram(tf.constant(f), tf.bfloat16)
    assert fast.dtype == tf.float32
    np.testing.assert_allclose(fast.numpy(), exact, rtol=1e-2)  # bfloat16 keeps ~3 digits, 4096 terms


def test_style_loss_is_the_mean_over_layers_of_the_mean_squared_gram_difference():
    a = np.ones((1, 2, 2, 2), np.float32)
    target_a = np.zeros((1, 2, 2), np.float32)  # gram(a) is all ones: squared difference 1 everywhere
    b = np.zeros((1, 2, 2, 3), np.float32)
    target_b = np.full((1, 3, 3), 2.0, np.float32)  # gram(b) is zero: squared difference 4
    loss = S.style_loss({"a": target_a, "b": target_b})({"a": tf.constant(a), "b": tf.constant(b)}, None)
    assert loss["style"].numpy().tolist() == [pytest.approx((1 + 4) / 2)]


def test_content_loss_is_the_mean_squared_feature_difference():
    loss = S.content_loss({"c": np.zeros((1, 2, 2, 1), np.float32)})
    value = loss({"c": tf.constant([[[[1.0], [3.0]], [[0.0], [0.0]]]])}, None)["content"].numpy()[0]
    assert value == pytest.approx((1 + 9) / 4)


def test_tv_weight_is_the_tutorials_summed_variation(backbone, photo):
    content01 = photo / 255.0
    run = S.TransferRun(weights=S.Weights(0.0, 0.0, 30.0, normalized=False), style_layers=["block1_conv1"],
                        content_layers=["block2_conv1"], fast=False)
    objective = S.transfer_objective(backbone, content01.astype(np.float32), content01.astype(np.float32), run)
    image = tf.constant(content01[None], tf.float32)
    ours = objective({"block1_conv1": tf.zeros((1, 1, 1, 64)), "block2_conv1": tf.zeros((1, 1, 1, 128))}, image)
    np.testing.assert_allclose(ours["tv"].numpy(), 30.0 * tf.image.total_variation(image).numpy(), rtol=1e-4)


def test_the_total_loss_falls_on_the_real_weights(backbone, photo):
    style = imagefiles.load_image(STYLES / "mosaic.jpg")
    runs = list(S.style_transfer(backbone, photo, style, S.TransferRun(size=96, steps=12, every=1, stages=S.FULL_SIZE_ONLY)))
    totals = [sum(r.losses.values()) for r in runs]
    assert totals[-1] < 0.7 * totals[0]
    assert set(runs[-1].losses) == {"style", "content", "tv"}
    assert runs[-1].images[0].shape == (64, 96, 3)


def test_coarse_to_fine_starts_small_and_ends_at_full_size():
    plan = S.stage_plan((300, 400), 100, S.STAGES)
    assert plan == [((75, 100), 25), ((150, 200), 35), ((300, 400), 40)]
    assert S.stage_plan((300, 400), 100, ((1, 1.0),)) == [((300, 400), 100)]


def test_staged_run_ends_at_full_size(backbone, photo):
    style = imagefiles.load_image(STYLES / "swirls.jpg")
    runs = list(S.style_transfer(backbone, photo, style, S.TransferRun(size=128, steps=10, every=2)))
    assert runs[-1].step == 10 and runs[-1].images[0].shape == (80, 128, 3)  # 85 rows snapped to 80
    assert runs[0].images[0].shape[1] == 32


def test_a_finer_stage_from_the_content_gets_back_some_of_its_detail(photo):
    content01 = photo / 255.0
    coarse = S.images.resize(photo, (photo.shape[0] // 4, photo.shape[1] // 4))[None]
    blurred = S.images.resize_float(S.images.to_float(coarse[0]), photo.shape[:2])

    def error(start):
        return np.abs(S.starting_image(start, content01, None, coarse, 0)[0] - content01).mean()

    assert error("noise") == pytest.approx(np.abs(blurred - content01).mean(), abs=1e-6)  # upsampled only
    assert error("content") < (1 - 0.5 * S.CONTENT_DETAIL) * error("noise")


def test_keeping_colours_keeps_the_contents_chroma(backbone, photo):
    style = imagefiles.load_image(STYLES / "circles.jpg")
    final = list(S.style_transfer(backbone, photo, style, S.TransferRun(size=96, steps=6, every=6, keep_colors=True,
                                                                        stages=S.FULL_SIZE_ONLY)))[-1].images[0]
    content = S.images.fit_long_side(photo, 96)
    chroma = lambda im: (S.images.to_float(im) @ S.YIQ.T)[..., 1:]  # noqa: E731
    assert np.abs(chroma(final) - chroma(content)).mean() < 0.02
    assert np.abs(final.astype(float) - content).mean() > 1  # but it did change


def test_per_layer_mode_gives_one_panel_per_layer(backbone, photo):
    style = imagefiles.load_image(STYLES / "swirls.jpg")
    runs = list(S.style_per_layer(backbone, photo, style, S.TransferRun(size=64, steps=4, every=2),
                                  ["block1_conv1", "block3_conv1"]))
    assert runs[-1].captions == ["block1_conv1", "block3_conv1"] and len(runs[-1].images) == 2
    assert runs[-1].losses["style"] < 1.0  # below the content photo's own score


@pytest.mark.parametrize("kwargs,message", [
    ({"size": 2000}, "Output size must be between"),
    ({"steps": -1}, "Steps must be between"),
    ({"start": "random"}, "Start must be one of"),
    ({"style_strength": 5}, "Style strength must be between"),
    ({"style_scale": 5}, "Style scale must be between"),
])
def test_limits_give_clear_errors(backbone, photo, kwargs, message):
    with pytest.raises(InputError, match=message):
        next(S.style_transfer(backbone, photo, photo, S.TransferRun(**kwargs)))
