"""How a unit is built: its inputs and outputs from the weights, expanded weights that compose two
kernels exactly, ablation that checks them, the circuit streamed with its pictures, /circuit, and the
walk between unit pages in a real browser (address and back button)."""

from dataclasses import replace

import numpy as np
import pytest
import tensorflow as tf
from gradio_client import handle_file

from viz import atlas, circuits, images
from viz.errors import InputError
from viz.io.cache import TileCache
from viz.microscope import EXTRAS, UNIT, TileSettings
from viz.model import features

from test_atlas import fill, page  # noqa: F401 - page: the browser on the app

TINY = TileSettings(size=64, steps=4)  # pictures made quickly: the mechanics, not their looks


def test_inputs_and_outputs_are_the_strongest_weights_each_way(backbone):
    found = circuits.circuit(backbone, "block3_conv2:16", count=8, inhibit=4)
    kernel = circuits.kernel(backbone, "block3_conv2")[..., 16]
    sums = kernel.sum(axis=(0, 1))
    weights = [link.weight for link in found.inputs]
    assert len(found.inputs) == 12 and weights[:8] == sorted(weights[:8], reverse=True) and min(weights[:8]) > 0
    assert weights[8:] == sorted(weights[8:]) and max(weights[8:]) < 0
    assert weights[0] == pytest.approx(sums.max()) and weights[8] == pytest.approx(sums.min())
    first = found.inputs[0]
    assert first.unit == f"block3_conv1:{int(sums.argmax())}" and np.array_equal(first.pattern, kernel[..., first.channel])
    above = circuits.kernel(backbone, "block3_conv3")[:, :, 16, :].sum(axis=(0, 1))
    assert found.outputs[0].unit == f"block3_conv3:{int(above.argmax())}" and len(found.outputs) == 12
    assert found.notes["inputs"] == "block3_conv1" and "block2_conv2" in found.notes["below"]
    assert "max-pooling" in circuits.circuit(backbone, "block3_conv1:0").notes["inputs"]


def test_the_ends_of_the_network(backbone):
    first = circuits.circuit(backbone, "block1_conv1:5")
    assert [link.unit for link in first.inputs] == ["red", "green", "blue"] and first.inputs[0].channel is None
    assert first.below == () and circuits.circuit(backbone, "block1_conv2:5").below == ()
    last = circuits.circuit(backbone, "block5_conv3:5")
    assert last.outputs == () and "outputs" not in last.notes
    with pytest.raises(InputError, match="not a layer with channels"):
        circuits.circuit(backbone, "block5_pool:1")


def convolved(x, kernel, stride=1):
    return tf.nn.conv2d(x, kernel, strides=stride, padding="VALID")


def pooled(x, pool: bool):
    return tf.nn.avg_pool2d(x, 2, 2, "VALID") if pool else x


@pytest.mark.parametrize("unit, side", [("block3_conv3:7", 5), ("block4_conv1:9", 8), ("block3_conv2:4", 10)])
def test_expanded_weights_are_the_two_kernels_composed(backbone, unit, side):
    """Without the ReLU (and with an average in place of a max-pooling, after the layer two below or
    after the one between), the two convolutions equal one with the expanded weights, at every place."""
    layer, channel = unit.split(":")
    lower = circuits.neighbours(backbone, layer)[0]
    two_below = circuits.neighbours(backbone, lower)[0]
    first, second = circuits.pooled_between(backbone, two_below, lower), circuits.pooled_between(backbone, lower, layer)
    x = tf.random.stateless_normal((1, 24, 24, circuits.kernel(backbone, two_below).shape[-1]), (1, 2))
    middle = pooled(convolved(pooled(x, first), circuits.kernel(backbone, lower)), second)
    twice = convolved(middle, circuits.kernel(backbone, layer)[..., int(channel):int(channel) + 1])
    expanded = circuits.expanded(backbone, layer, int(channel))
    once = convolved(x, expanded[..., None], stride=2 if first or second else 1)
    assert expanded.shape[0] == side
    np.testing.assert_allclose(once.numpy(), twice.numpy(), atol=1e-3 * float(tf.reduce_max(tf.abs(twice))))


def test_ablation_checks_the_weights(backbone, photo):
    """On a photo the unit answers, zeroing its strongest excitatory input lowers its response, zeroing
    its strongest inhibitor raises it, and zeroing an input that is silent on the photo changes nothing."""
    unit, picture = "block4_conv1:60", images.fit_for_network(photo, 224)
    found = circuits.circuit(backbone, unit, count=2, inhibit=2)
    start = circuits.layer_input(backbone, "block4_conv1")
    silent = np.flatnonzero(circuits.activations_at(backbone, start, picture).numpy()[0].max(axis=(0, 1)) == 0)
    change = circuits.ablation(backbone, unit, start, [found.inputs[0].channel, found.inputs[2].channel,
                                                       int(silent[0])], picture)
    assert change[0] < -0.01 and change[1] > 0.0 and change[2] == 0.0
    checked = circuits.checked(backbone, found, {"photo": picture})
    assert checked.inputs[0].change["photo"] == pytest.approx(change[0], rel=1e-4)
    assert checked.below and all("photo" in link.change for link in checked.below)


def test_a_unit_silent_on_a_picture_has_no_relative_change(backbone):
    grey = np.full((64, 64, 3), 128, np.uint8)
    maps = features(backbone, images.to_float(grey)[None], ["block3_conv1"])["block3_conv1"][0]
    silent = int(np.flatnonzero(maps.max(axis=(0, 1)) == 0)[0])
    start = circuits.layer_input(backbone, "block3_conv1")
    assert np.isnan(circuits.ablation(backbone, f"block3_conv1:{silent}", start, [0, 1], grey)).all()
    found = circuits.checked(backbone, circuits.circuit(backbone, f"block3_conv1:{silent}"), {"grey": grey})
    assert all(link.change == {} for link in found.inputs + found.below)


def test_a_circuit_streams_its_pictures_as_they_are_made(backbone, tmp_path, photo):
    cache = TileCache(tmp_path)
    states = list(atlas.circuit_page(backbone, "block2_conv2:3", photo, cache, settings=TINY))
    first, last = states[0], states[-1]
    assert first.pictures == {} and len(last.pictures) == last.wanted > 20
    assert [len(s.pictures) for s in states] == sorted(len(s.pictures) for s in states)
    assert atlas.OWN not in first.circuit.inputs[0].change and atlas.PHOTO in first.circuit.inputs[0].change
    assert atlas.OWN in last.circuit.inputs[0].change or not any(last.circuit.inputs[0].change.values())
    again = list(atlas.circuit_page(backbone, "block2_conv2:3", None, cache, settings=TINY))
    assert len(again) == 1 and len(again[0].pictures) == again[0].wanted  # all cached: one state
    quick = list(atlas.circuit_page(backbone, "block2_conv2:4", None, TileCache(tmp_path / "empty"), draw=False,
                                    settings=TINY))
    assert len(quick) == 1 and quick[0].pictures == {}


def test_pattern_pictures_are_red_for_excitation_and_blue_for_inhibition():
    picture = circuits.pattern_picture(np.array([[1.0, 0.0, -1.0]] * 3), 30)
    assert picture.shape == (30, 30, 3)
    red, white, blue = picture[0, 0].astype(int), picture[0, 15].astype(int), picture[0, 29].astype(int)
    assert red[0] > red[2] + 50 and blue[2] > blue[0] + 50 and white.min() > 230
    tile = np.zeros((50, 50, 3), np.uint8)
    shown = circuits.with_pattern(tile, np.ones((3, 3)))
    assert shown[5, -5, 0] > 100 and shown[-5, 5].max() == 0  # the inset lies in the upper right corner only


def test_api_circuit_from_the_cache(backbone, client):
    found = circuits.circuit(backbone, "block2_conv1:5")
    for group in ("block2_conv1", "block1_conv2", "block2_conv2", "block1_conv1"):
        fill(backbone, group, range(128 if group.startswith("block2") else 64))
    inputs, outputs, below, numbers, status = client.predict("block2_conv1:5", handle_file("examples/cat.jpg"),
                                                             api_name="/circuit")
    assert [item["caption"].split(" · ")[0] for item in inputs] == [link.unit for link in found.inputs]
    assert len(inputs) >= 8 and len(outputs) >= 8 and len(below) >= 4
    assert numbers["unit"] == "block2_conv1:5" and numbers["inputs"][0]["unit"] == found.inputs[0].unit
    assert "your photo" in numbers["inputs"][0]["ablation"] and "photo " in inputs[0]["caption"]
    assert "How block2_conv1:5 is built" in status and "max-pooling" in status and status.endswith("done")
    with pytest.raises(Exception, match="A unit is a conv channel"):
        client.predict("block2_conv1", None, api_name="/circuit")


def fill_unit_page(backbone, unit: str) -> None:
    """Stand-ins for every cached picture of a unit's page (its caricature is still made)."""
    layer, channel = unit.split(":")
    for settings in [replace(UNIT, seed=seed) for seed in (0, 1)] + [
            replace(EXTRAS, preset=preset) for preset in ("diverse 0", "diverse 1", "diverse 2", "diverse 3", "negative")]:
        fill(backbone, layer, [int(channel)], settings)


def test_a_walk_through_circuits_with_the_back_button(backbone, app_url, page):
    """A unit page's inputs are captioned pictures; a click opens the input's page and names it in the
    address; the back button returns to the unit before."""
    for layer, count in (("block1_conv1", 64), ("block1_conv2", 64), ("block2_conv1", 128)):
        fill(backbone, layer, range(count))
    first = circuits.circuit(backbone, "block1_conv2:7").inputs[0].unit
    fill_unit_page(backbone, "block1_conv2:7")
    fill_unit_page(backbone, first)
    page.goto(app_url + "?unit=block1_conv2:7")
    page.wait_for_function("document.querySelectorAll('#circuit-inputs img').length >= 12", timeout=60_000)
    assert page.locator("#circuit-inputs img").nth(0).get_attribute("alt").startswith(f"{first} · w +")
    page.locator("#circuit-inputs img").nth(0).click()
    page.wait_for_function(f"location.search === '?unit={first}'", timeout=10_000)
    page.wait_for_function(f"document.querySelector('#circuit-about').innerText.includes('How {first} is built')",
                           timeout=60_000)
    page.wait_for_function(f"document.querySelector('#unit-about').innerText.includes('{first} ·')", timeout=120_000)
    page.go_back()
    page.wait_for_function("location.search === '?unit=block1_conv2:7'", timeout=10_000)
    page.wait_for_function("document.querySelector('#circuit-about').innerText.includes('How block1_conv2:7 is built')",
                           timeout=60_000)
    page.wait_for_function("document.querySelector('#unit-about').innerText.includes('block1_conv2:7 ·')",
                           timeout=120_000)
