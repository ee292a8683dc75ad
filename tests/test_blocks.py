"""The Building Blocks: neuron groups (NMF) with their maps, pictures, channels and contributions, and
the semantic dictionary of a place, in viz and through the API."""

import contextlib

import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

from ui.photos import EXAMPLES, ROOT
from conftest import open_page
from benchmarks.measures import channel_response, direction_response, gram_distance
from viz import blocks, images
from viz.io import imagefiles
from viz.engine import objectives
from viz.errors import InputError
from viz.model import features


def test_the_factorization_recovers_a_known_low_rank_input():
    rng = np.random.default_rng(0)
    w0 = rng.random((196, 3)) * (rng.random((196, 3)) > 0.5)
    h0 = rng.random((3, 64)) * (rng.random((3, 64)) > 0.6)
    w, h, explained = blocks.factorize(w0 @ h0, 3)
    assert explained > 0.999
    unit = h0 / np.linalg.norm(h0, axis=1, keepdims=True)
    assert np.all((unit @ h.T).max(axis=1) > 0.99)  # each true direction found (in some order)
    assert np.allclose(np.linalg.norm(h, axis=1), 1) and np.all(np.diff(w.sum(axis=0)) <= 0)  # strongest first


@pytest.fixture(scope="module")
def cat():
    return imagefiles.load_image(str(ROOT / "examples" / "cat.jpg"))


def test_neuron_groups_explain_the_layer_and_add_up_to_a_channel(backbone, cat):
    found = blocks.neuron_groups(backbone, cat, blocks.GroupsRun("block5_conv3", 6, target="block5_conv3:155"))
    assert found.maps.shape[0] == 6 and found.maps.min() >= 0 and found.explained >= 0.6
    shares = [share for _, share in found.channels(0, 512)]
    assert sum(shares) == pytest.approx(1.0) and shares == sorted(shares, reverse=True)
    # The gradient of a channel's mean at its own layer is 1/N there: the groups' contributions add up
    # to the mean of that channel in the factorization W·H.
    w = found.maps.reshape(6, -1).T
    assert found.contributions["block5_conv3:155"].sum() == pytest.approx((w @ found.directions)[:, 155].mean(),
                                                                            rel=1e-3)
    overlay = blocks.group_overlay(found)
    assert overlay.shape == found.photo.shape and overlay.std() > 10


def test_a_target_before_the_layer_is_refused(backbone, cat):
    with pytest.raises(InputError, match="lies before block5_conv3"):
        blocks.neuron_groups(backbone, cat, blocks.GroupsRun("block5_conv3", 3, target="block2_conv2:3"))
    with pytest.raises(InputError, match="Groups"):
        blocks.neuron_groups(backbone, cat, blocks.GroupsRun("block5_conv3", 40))


def test_the_direction_objective_raises_its_dot_product(backbone, cat):
    found = blocks.neuron_groups(backbone, cat, blocks.GroupsRun("block4_conv3", 2))
    runs = list(blocks.group_directions_pictures(backbone, found, blocks.VisualizationRun(steps=24, size=64)))
    first, last = runs[0][2], runs[-1][2]
    assert all(b > 2 * a for a, b in zip(first, last))
    for g, picture in enumerate(runs[-1][1]):  # and the picture itself, seen without jitter
        assert direction_response(backbone, picture, "block4_conv3", found.directions[g]) > 0


def test_the_objective_weighs_the_cosine_when_asked():
    acts = np.zeros((1, 1, 2, 2), np.float32)
    acts[0, 0, 0] = [3.0, 0.0]  # along the direction
    acts[0, 0, 1] = [3.0, 3.0]  # as large a dot product, at 45°
    plain = objectives.direction("x", np.array([[1.0, 0.0]]))
    caricature = objectives.direction("x", np.array([[1.0, 0.0]]), cosine_power=1.0)
    assert float(plain({"x": acts}, None)["direction"][0]) == pytest.approx(-3.0)
    assert float(caricature({"x": acts}, None)["direction"][0]) == pytest.approx(-(3 + 3 * 2 ** -0.5) / 2, rel=1e-4)


def test_the_dictionary_names_the_channels_distinctive_there(backbone, cat):
    """Ranked by how far each channel fires above its mean over the photo: two places differ."""
    found = blocks.dictionary(backbone, cat, blocks.Place("block4_conv3", 0.25, 0.75, 5))
    picture = images.fit_for_network(cat, blocks.PHOTO_SIDE)
    acts = features(backbone, images.to_float(picture)[None], ["block4_conv3"])["block4_conv3"][0]
    excess = acts[int(0.75 * acts.shape[0]), int(0.25 * acts.shape[1])] - acts.mean(axis=(0, 1))
    assert [c for c, _ in found] == list(np.argsort(-excess)[:5])
    assert [v for _, v in found] == pytest.approx(sorted(excess, reverse=True)[:5], rel=1e-5)
    elsewhere = blocks.dictionary(backbone, cat, blocks.Place("block4_conv3", 0.5, 0.4, 5))
    assert {c for c, _ in found} != {c for c, _ in elsewhere}
    with pytest.raises(InputError, match="x must be"):
        blocks.dictionary(backbone, cat, blocks.Place("block4_conv3", 1.5, 0.5))


def test_neuron_groups_and_the_dictionary_through_the_api(client):
    # block1_conv1: the pictures cost next to nothing there, so the run goes to its end
    job = client.submit(handle_file(EXAMPLES[1]), "block1_conv1", 3, "block2_conv1:5", 0, api_name="/neuron_groups")
    updates = list(job)
    maps, pictures, about = updates[-1]
    assert len(updates) >= 3 and len(maps) == 4 and len(pictures) == 3 and about.endswith("done")
    assert "3 groups at block1_conv1" in about and "?unit=block1_conv1:" in about and "block2_conv1:5:" in about
    entries, links = client.predict(handle_file(EXAMPLES[1]), "block1_conv1", 0.5, 0.5, api_name="/dictionary")
    assert len(entries) == 8 and entries[0]["caption"].startswith("block1_conv1:") and "?unit=block1_conv1:" in links


def test_a_click_on_the_photo_opens_its_dictionary_and_a_unit_page(backbone, app_url):
    from viz import atlas
    from viz.io import cache as picture_cache
    from viz.microscope import TILE

    cache = picture_cache.TileCache()  # the app's: stand-in tiles, so that only the click's own work is timed
    cache.put_all({atlas.tile_key(backbone, blocks.LAST_CONV, c, TILE): np.full((32, 32, 3), c % 255, np.uint8)
                   for c in range(512)})
    with contextlib.closing(open_page(app_url)) as pages:
        clicked_through(next(pages))


def clicked_through(page):
    """Click the cat photo, then the dictionary's first link: its unit page opens."""
    page.get_by_role("tab", name="Building blocks").click()
    panel = page.locator("#tab-blocks")
    panel.locator("button:has(img)").nth(1).click()  # the cat example
    page.locator("#blocks-image img").wait_for()
    photo = page.locator("#blocks-image img")
    page.wait_for_function("document.querySelector('#blocks-image img').complete")
    box = photo.bounding_box()
    photo.click(position={"x": box["width"] * 0.4, "y": box["height"] * 0.4})
    page.wait_for_function("document.querySelectorAll('#dictionary img').length >= 8", timeout=120_000)
    link = page.locator("#dictionary-links a").first
    unit = link.inner_text()
    assert unit.startswith(f"{blocks.LAST_CONV}:")
    with page.context.expect_page() as opened:  # Gradio opens Markdown links in a new tab
        link.click()
    page = opened.value
    page.wait_for_function("u => document.querySelector('#unit-about') && "
                           "document.querySelector('#unit-about').innerText.includes(u)", arg=unit, timeout=90_000)
    assert page.locator("#tab-microscope").is_visible()


def test_the_activation_grid_pictures_each_cell_in_the_photos_geometry(backbone, cat):
    vectors, rows, columns = blocks.cell_vectors(np.arange(14 * 10 * 2, dtype=np.float32).reshape(14, 10, 2), 7)
    assert (rows, columns) == (7, 5) and vectors.shape == (35, 2)
    runs = list(blocks.activation_grid(backbone, cat, blocks.GridRun("block4_conv3", 3, pictures=blocks.VisualizationRun(steps=16, size=48))))
    last = runs[-1]
    assert last.step == 16 and len(last.cells) == last.rows * last.columns >= 6
    assert min(cell.std() for cell in last.cells) > 5  # no flat cell
    assert last.picture.shape[1] > last.picture.shape[0]  # the cat photo is wider than tall
    with pytest.raises(InputError, match="Cells"):
        next(blocks.activation_grid(backbone, cat, blocks.GridRun("block4_conv3", 40)))


def test_the_activation_grid_through_the_api(client):
    picture, status = list(client.submit(handle_file(EXAMPLES[1]), "block1_conv2", 2, 0,
                                         api_name="/activation_grid"))[-1]
    assert "cells at block1_conv2 · done" in status and np.asarray(Image.open(picture)).std() > 5


def test_diverse_pictures_differ_more_than_seeds_and_the_negative_stays_below_the_photos(backbone, cat):
    from viz import visualize as vis
    from viz.targets import parse_target

    unit = parse_target(backbone, "block4_conv3:42")
    plain = [vis.diverse(backbone, unit, cat, 1, vis.VisualizationRun(steps=64, size=96, seed=s))[0] for s in range(3)]
    spread = vis.diverse(backbone, unit, plain[0], 3, vis.VisualizationRun(steps=64, size=96))

    def response(picture):
        return channel_response(backbone, picture, "block4_conv3", 42)

    photo = images.fit_for_network(cat, 224)
    assert gram_distance(backbone, spread, "block2_conv2") > 2 * gram_distance(backbone, plain, "block2_conv2")
    assert min(response(p) for p in spread) > 5 * response(photo)  # each still far above what a photo does
    assert response(vis.negative(backbone, unit, vis.VisualizationRun(steps=48, size=64))) < response(photo)


def test_groups_add_to_the_top_classes_of_the_full_shape_classifier(classifier_backbone, cat):
    """The classifier sees the photo squashed to 224×224: the groups' weights are found there too."""
    found = blocks.neuron_groups(classifier_backbone, cat, blocks.GroupsRun("block5_conv3", 4))
    assert len(found.contributions) == 3 and found.maps.shape[1:] != (14, 14)
    assert all(values.shape == (4,) and np.all(np.isfinite(values)) and np.any(values != 0)
               for values in found.contributions.values())


def test_dictionary_entries_are_drawn_as_large_as_they_fire():
    dark = [np.zeros((40, 40, 3), np.uint8)] * 3
    entries = blocks.sized_by_activation(dark, [4.0, 2.0, 0.1])
    drawn = [int((entry < 255).any(axis=2).sum(axis=1).max()) for entry in entries]  # the dark square's side
    assert all(entry.shape == (40, 40, 3) for entry in entries) and drawn == [40, 20, 12]  # the weakest: 30 %
