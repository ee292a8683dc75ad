"""The one optimization loop and its pieces, on a tiny model (mechanics, not pictures)."""

import inspect

import numpy as np
import pytest
import tensorflow as tf

from viz.engine import objectives as O
from viz.engine import param, transforms
from viz.engine.optimize import OPTIMIZERS, Schedule, compiled, interleaved, optimize, step_seed


@pytest.fixture(scope="module")
def tiny():
    """A two-layer conv net with fixed random weights, and a net() that counts its calls."""
    tf.keras.utils.set_random_seed(1)
    conv1 = tf.keras.layers.Conv2D(8, 3, padding="same", activation="relu")
    conv2 = tf.keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")
    calls = tf.Variable(0)

    def net(images):
        calls.assign_add(1)
        a = conv1(images)
        return {"conv1": a, "conv2": conv2(a)}

    net(tf.zeros((1, 16, 16, 3)))
    return net, calls


def target_of(net, seed=3):
    image = np.random.default_rng(seed).random((1, 16, 16, 3)).astype(np.float32)
    return net(image)["conv2"].numpy()


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_the_loss_falls_in_five_steps(tiny, optimizer):
    net, _ = tiny
    objective = O.feature_match("conv2", target_of(net))
    runs = list(optimize(objective, param.pixels((1, 16, 16)), net,
                         Schedule(steps=5, every=1, optimizer=optimizer, lr=0.05 if optimizer == "adam" else 1.0)))
    totals = [float(s.total[0]) for s in runs]
    assert len(runs) == 5 and totals[-1] < 0.8 * totals[0]
    assert runs[-1].images.dtype == np.uint8 and runs[-1].images.shape == (1, 16, 16, 3)


def test_snapshots_come_after_the_first_step_every_k_steps_and_at_the_end(tiny):
    net, _ = tiny
    steps = [s.step for s in optimize(O.feature_match("conv1", net(tf.ones((1, 16, 16, 3)))["conv1"].numpy()),
                                      param.pixels((1, 16, 16)), net, Schedule(steps=25, every=10))]
    assert steps == [1, 10, 20, 25]


def test_steps_run_only_as_snapshots_are_taken_and_close_runs_no_more(tiny):
    net, calls = tiny
    run = optimize(O.feature_match("conv2", target_of(net)), param.pixels((1, 16, 16)), net,
                   Schedule(steps=1000, every=2, max_wait=600))
    before = int(calls.numpy())
    next(run)
    assert int(calls.numpy()) - before == 1  # one Adam step for the first snapshot, none run ahead
    next(run)
    assert int(calls.numpy()) - before == 2  # then one more to reach step 2
    taken = int(calls.numpy())
    run.close()
    assert int(calls.numpy()) == taken  # closing finishes no step and takes no final snapshot


def test_closing_side_by_side_closes_every_run(tiny):
    net, _ = tiny
    runs = [optimize(O.feature_match("conv2", target_of(net, seed)), param.pixels((1, 16, 16)), net,
                     Schedule(steps=1000, every=2)) for seed in (3, 4)]
    together = interleaved(runs)
    next(together)
    together.close()
    assert [inspect.getgeneratorstate(run) for run in runs] == [inspect.GEN_CLOSED] * 2


@pytest.mark.parametrize("make_param", [param.pixels, param.fourier])
def test_same_seed_same_images(tiny, make_param):
    net, _ = tiny
    objective = O.feature_match("conv2", target_of(net)) + 0.1 * O.total_variation()

    def final(seed):
        jitter = transforms.compose([transforms.pad(2), transforms.jitter(4)])
        return list(optimize(objective, make_param((2, 16, 16), seed=seed), net, Schedule(steps=4, every=4, seed=seed),
                             jitter))[-1].images

    np.testing.assert_array_equal(final(0), final(0))
    assert not np.array_equal(final(0), final(1))


def test_objectives_add_and_scale_with_names():
    a = O.objective("a", lambda f, im, data: tf.ones([2]), ["x"])
    b = O.objective("b", lambda f, im, data: 2 * tf.ones([2]), ["y", "x"])
    combined = 3 * a - b + 0.5 * a
    values = {k: v.numpy().tolist() for k, v in combined({}, tf.zeros((2, 4, 4, 3))).items()}
    assert values == {"a": [3.5, 3.5], "b": [-2.0, -2.0]}
    assert combined.layers == ("x", "y")


def test_only_keeps_one_batch_item():
    np.testing.assert_array_equal(O.only(1, tf.constant([1.0, 2.0, 3.0])).numpy(), [0.0, 2.0, 0.0])


def test_total_variation_is_per_pixel_and_sees_colour_noise():
    rng = np.random.default_rng(0)
    tv = O.total_variation()
    flat = tv({}, tf.fill((1, 32, 32, 3), 0.5))["tv"].numpy()[0]
    small = tv({}, tf.constant(rng.random((1, 32, 32, 3)), tf.float32))["tv"].numpy()[0]
    large = tv({}, tf.constant(rng.random((1, 64, 64, 3)), tf.float32))["tv"].numpy()[0]
    assert flat == 0 and small > 0.1 and abs(small - large) / small < 0.05  # same weight at any size
    grey_noise = tf.constant(np.repeat(rng.random((1, 32, 32, 1)), 3, axis=-1), tf.float32)
    colour_noise = tf.constant(rng.random((1, 32, 32, 3)), tf.float32)

    def tv_with(chroma, image):
        return O.total_variation(chroma=chroma)({}, image)["tv"].numpy()[0]

    assert tv_with(5.0, grey_noise) == pytest.approx(tv_with(2.0, grey_noise), rel=1e-4)  # no chroma to weigh
    assert tv_with(5.0, colour_noise) > 2 * tv_with(2.0, colour_noise)


def test_smoothed_total_variation_stays_near_plain_and_flattens_at_its_minimum():
    image = tf.constant(np.random.default_rng(1).random((1, 16, 16, 3)), tf.float32)
    plain = O.total_variation()({}, image)["tv"].numpy()[0]
    smooth = O.total_variation(smooth=0.01)({}, image)["tv"].numpy()[0]
    assert plain - 2 * 3 * 0.01 <= smooth < plain  # each of the 2·3 differences per pixel moves by < ε
    nearly_flat = tf.Variable(0.5 + 1e-4 * tf.constant(np.random.default_rng(2).standard_normal((1, 8, 8, 3)),
                                                        tf.float32))
    with tf.GradientTape(persistent=True) as tape:
        kinked, smoothed = (O.total_variation(smooth=s)({}, nearly_flat)["tv"] for s in (0.0, 0.01))
    steepest = [np.abs(tape.gradient(tv, nearly_flat).numpy()).max() for tv in (kinked, smoothed)]
    assert steepest[1] < 0.05 * steepest[0]  # near its minimum the smoothed one flattens out; |d| never does


def test_alpha_norm_grows_outside_the_range():
    norm = O.alpha_norm()
    inside = norm({}, tf.fill((1, 4, 4, 3), 0.6))["alpha-norm"].numpy()[0]
    edge = norm({}, tf.fill((1, 4, 4, 3), 1.0))["alpha-norm"].numpy()[0]
    assert inside < 1e-3 and edge == pytest.approx(1.0)


def test_fourier_parametrization_round_trips_a_photo():
    rng = np.random.default_rng(0)
    picture = np.clip(0.5 + 0.3 * rng.standard_normal((1, 20, 30, 3)), 0.05, 0.95).astype(np.float32)
    values, to_image = param.fourier((1, 20, 30), init=picture)
    np.testing.assert_allclose(to_image([tf.constant(v) for v in values]).numpy(), picture, atol=2e-3)


def test_fourier_starts_grey_and_smooth():
    values, to_image = param.fourier((1, 32, 32), seed=0)
    image = to_image(values).numpy()
    assert abs(image.mean() - 0.5) < 0.05 and image.std() < 0.1


def test_pixels_clip_forward_and_pass_gradients():
    values, to_image = param.pixels((1, 4, 4), init=np.full((4, 4, 3), 1.5, np.float32))
    values = [tf.constant(v) for v in values]
    with tf.GradientTape() as tape:
        tape.watch(values)
        value = tf.reduce_sum(to_image(values))
    assert to_image(values).numpy().max() == 1.0
    assert np.all(tape.gradient(value, values[0]).numpy() == 1.0)


@pytest.mark.parametrize("transform,side", [(transforms.pad(3), 30), (transforms.jitter(4), 20),
                                            (transforms.scale_rotate(), 24), (transforms.lucid(), 36)])
def test_transforms_are_seeded_and_static_in_shape(transform, side):
    images = tf.constant(np.random.default_rng(0).random((2, 24, 24, 3)), tf.float32)
    first = transform(images, step_seed(5, 0)).numpy()
    again = transform(images, step_seed(5, 0)).numpy()
    np.testing.assert_array_equal(first, again)
    traced = tf.function(transform).get_concrete_function(tf.TensorSpec((2, 24, 24, 3), tf.float32),
                                                          tf.TensorSpec((2,), tf.int64))
    assert first.shape == (2, side, side, 3)
    assert tuple(traced.structured_outputs.shape) == (2, side, side, 3)  # known when traced: no retracing


def test_rotation_by_zero_is_identity():
    images = tf.constant(np.random.default_rng(0).random((1, 9, 9, 3)), tf.float32)
    same = transforms.scale_rotate((1.0, 1.0), 0.0)(images, step_seed(0, 0))
    np.testing.assert_allclose(same.numpy(), images.numpy(), atol=1e-5)


def test_unknown_optimizer_is_refused(tiny):
    net, _ = tiny
    with pytest.raises(ValueError, match="Unknown optimizer"):
        next(optimize(O.feature_match("conv1", np.zeros((1, 16, 16, 8))), param.pixels((1, 16, 16)), net,
                      Schedule(optimizer="sgd")))


def test_a_run_whose_loss_stops_moving_ends_early():
    from viz.engine.optimize import until_flat

    flat = (({"loss": tf.constant([1.0])}, None) for _ in range(1000))
    assert sum(1 for _ in until_flat(flat, 0.01, window=5)) == 6  # the window, then one step that did not move
    falling = (({"loss": tf.constant([np.exp(-0.1 * k)])}, None) for k in range(50))
    assert sum(1 for _ in until_flat(falling, 0.01, window=5)) == 50  # 10 % a step keeps going


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_runs_that_differ_only_in_data_share_one_compiled_step(tiny, optimizer):
    """A run with other targets and weights traces nothing new, and ends exactly where it ends when
    compiled for itself: its data are inputs of the shared step, not constants of the first trace."""
    tiny_net, _ = tiny
    traces = []

    def net(images):  # its Python body runs only while a step is traced
        traces.append(images.shape)
        return tiny_net(images)

    def run(seed, weight):
        objective = O.feature_match("conv2", target_of(tiny_net, seed)) + weight * O.total_variation()
        return list(optimize(objective, param.pixels((1, 16, 16)), net,
                             Schedule(steps=6, every=6, optimizer=optimizer, lr=0.05 if optimizer == "adam" else 1.0)))[-1]

    alone = run(7, 0.3)
    compiled.cache_clear()
    run(3, 0.1)
    traced = len(traces)
    shared = run(7, 0.3)
    assert len(traces) == traced
    np.testing.assert_array_equal(shared.images, alone.images)
    assert float(shared.total[0]) == pytest.approx(float(alone.total[0]), rel=1e-6)


def test_a_term_that_closes_over_a_tensor_is_refused():
    constant = tf.ones([2])
    with pytest.raises(TypeError, match="pass it as the term's data"):
        O.objective("a", lambda f, im, data: constant).structure()
