"""The microscope: cache keys, hits, corrupt files, one computation per tile, eviction, resuming, top
patches; then the Microscope tab through the API and in a browser (links, tile and grid clicks)."""

import os
import threading
import time

import numpy as np
import pytest
from gradio_client import handle_file

from ui.photos import EXAMPLES
from conftest import open_page, scaled_backbone
from viz import atlas
from viz.io import cache as picture_cache, imagefiles, weights
from viz import images, microscope, model
from viz.errors import InputError

QUICK = microscope.TileSettings(size=64, steps=2)


@pytest.fixture
def cache(tmp_path):
    return picture_cache.TileCache(tmp_path / "atlas")


def test_the_key_changes_with_everything_that_changes_the_picture(backbone, monkeypatch):
    key = atlas.tile_key(backbone, "block4_conv3", 42, microscope.TILE)
    assert key == atlas.tile_key(backbone, "block4_conv3", 42, microscope.TILE)
    others = [atlas.tile_key(backbone, "block4_conv2", 42, microscope.TILE),
              atlas.tile_key(backbone, "block4_conv3", 43, microscope.TILE),
              atlas.tile_key(backbone, "block4_conv3", 42, microscope.TileSettings(size=128)),
              atlas.tile_key(backbone, "block4_conv3", 42, microscope.TileSettings(steps=64)),
              atlas.tile_key(backbone, "block4_conv3", 42, microscope.TileSettings(preset="raw")),
              atlas.tile_key(backbone, "block4_conv3", 42, microscope.TileSettings(seed=1)),
              atlas.tile_key(scaled_backbone(backbone, 2.0), "block4_conv3", 42, microscope.TILE)]
    monkeypatch.setattr(picture_cache, "CODE_VERSION", "next")
    others.append(atlas.tile_key(backbone, "block4_conv3", 42, microscope.TILE))
    assert len({key, *others}) == len(others) + 1


def test_a_second_request_is_a_cache_hit(backbone, cache, monkeypatch):
    *_, first = atlas.tiles(backbone, "block2_conv1", [3, 4], cache, QUICK)
    assert sorted(first) == [3, 4] and first[3].shape == (64, 64, 3) and first[3].std() > 1
    monkeypatch.setattr(atlas, "render", lambda *args: pytest.fail("computed again"))
    states = list(atlas.tiles(backbone, "block2_conv1", [3, 4], cache, QUICK))
    assert len(states) == 1 and all(np.array_equal(states[0][c], first[c]) for c in (3, 4))


def test_a_corrupt_or_partial_file_is_recomputed_not_shown(backbone, cache):
    key = atlas.tile_key(backbone, "block2_conv1", 5, QUICK)
    cache.path(key).parent.mkdir(parents=True, exist_ok=True)
    cache.path(key).write_bytes(b"\x89PNG\r\n\x1a\n" + b"cut short")
    assert cache.get(key) is None and not cache.path(key).exists()
    *_, known = atlas.tiles(backbone, "block2_conv1", [5], cache, QUICK)
    assert known[5].shape == (64, 64, 3) and cache.get(key) is not None


def test_two_requests_for_the_same_missing_tile_compute_it_once(backbone, cache, monkeypatch):
    calls = []

    def slow_render(backbone, layer, channels, settings):
        calls.append(list(channels))
        time.sleep(0.5)
        return [np.full((8, 8, 3), 100 + c, np.uint8) for c in channels]

    monkeypatch.setattr(atlas, "render", slow_render)
    results = []
    threads = [threading.Thread(target=lambda: results.append(list(atlas.tiles(backbone, "block3_conv1", [7], cache,
                                                                               QUICK))[-1])) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert calls == [[7]] and len(results) == 2 and all(r[7][0, 0, 0] == 107 for r in results)


def test_a_tile_whose_computer_failed_is_computed_by_the_one_waiting(backbone, cache, monkeypatch):
    monkeypatch.setattr(atlas, "render", lambda backbone, layer, channels, settings:
                        [np.full((8, 8, 3), 50 + c, np.uint8) for c in channels])
    key = atlas.tile_key(backbone, "block3_conv1", 9, QUICK)
    mine, _ = picture_cache.claim([key])  # another visitor is computing it...
    result = []
    waiting = threading.Thread(target=lambda: result.append(list(atlas.tiles(backbone, "block3_conv1", [9], cache,
                                                                              QUICK))[-1]))
    waiting.start()
    time.sleep(0.3)
    picture_cache.release(mine)  # ...and fails: nothing was written
    waiting.join(10)
    assert result and result[0][9][0, 0, 0] == 59 and cache.get(key) is not None


def test_a_picture_evicted_while_it_is_read_is_still_returned(cache, monkeypatch):
    cache.put("ee5", np.zeros((8, 8, 3), np.uint8))

    def evicted_meanwhile(path, *args):
        raise FileNotFoundError(path)

    monkeypatch.setattr(picture_cache.os, "utime", evicted_meanwhile)
    assert cache.get("ee5").shape == (8, 8, 3)


def test_partial_files_of_writers_that_died_are_cleaned(cache):
    folder = cache.folder / "ff"
    folder.mkdir(parents=True)
    stale, fresh = folder / "ff6.1.2.part", folder / "ff7.1.3.part"
    stale.write_bytes(b"half"), fresh.write_bytes(b"half")
    old = time.time() - picture_cache.PART_SECONDS - 60
    os.utime(stale, (old, old))
    cache.evict()
    assert not stale.exists() and fresh.exists()


def test_the_least_recently_used_pictures_go_first(tmp_path):
    small = picture_cache.TileCache(tmp_path / "small", max_mb=0.07)  # room for three of these pictures
    noise = np.random.default_rng(0).integers(0, 255, (80, 80, 3), dtype=np.uint8)  # ~19 kB as PNG
    for age, name in ((30, "aa1"), (20, "bb2"), (10, "cc3")):  # written 30, 20 and 10 s ago
        small.put(name, noise)
        os.utime(small.path(name), (time.time() - age,) * 2)
    assert small.get("aa1") is not None  # used: now the most recent
    small.put("dd4", noise)
    assert small.get("bb2") is None and all(small.get(k) is not None for k in ("aa1", "cc3", "dd4"))


def test_precomputing_resumes_without_recomputing_finished_tiles(backbone, cache, monkeypatch):
    def interrupt_after_the_first_batch(line):
        if line.startswith(f"block1_conv1: {atlas.FIRST_BATCH} "):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atlas.precompute(backbone, ["block1_conv1"], cache, interrupt_after_the_first_batch, QUICK)
    done = [c for c in range(64) if cache.get(atlas.tile_key(backbone, "block1_conv1", c, QUICK)) is not None]
    assert done == list(range(atlas.FIRST_BATCH))
    computed = []
    real = microscope.render
    monkeypatch.setattr(atlas, "render", lambda *a: computed.extend(a[2]) or real(*a))
    atlas.precompute(backbone, ["block1_conv1"], cache, lambda line: None, QUICK)
    assert computed == list(range(atlas.FIRST_BATCH, 64))


def test_receptive_fields_of_vgg16():
    # 3×3 convolutions (same padding) and 2×2 pools, counted by hand: 3, 40 and 196 px.
    backbone = weights.load_backbone("hed")
    assert model.receptive_field(backbone, "block1_conv1") == (3, 1, 0.0)
    assert model.receptive_field(backbone, "block3_conv3") == (40, 4, 1.5)
    assert model.receptive_field(backbone, "block5_conv3") == (196, 16, 7.5)


def test_top_patches_are_where_the_channel_fires_most(backbone):
    photo = images.fit_for_network(imagefiles.load_image(EXAMPLES[1]), 224)
    values = model.features(backbone, images.to_float(photo)[None], ["block3_conv3"])["block3_conv3"][0, ..., 9]
    i, j = np.unravel_index(np.argmax(values), values.shape)
    (crop, name, value), *_ = microscope.top_patches(backbone, "block3_conv3", 9, {"cat": photo}, 2)
    size, stride, offset = model.receptive_field(backbone, "block3_conv3")
    expected = images.crop_square(photo, (offset + i * stride, offset + j * stride), size)
    assert name == "cat" and value == pytest.approx(float(values.max()))
    np.testing.assert_array_equal(crop, expected)


def test_a_large_photo_is_looked_at_no_larger_than_the_page_shows(backbone, cache):
    photo = np.tile(images.fit_long_side(imagefiles.load_image(EXAMPLES[1]), 600), (4, 4, 1))  # 2400 px
    first = next(atlas.unit_page(backbone, "block3_conv3:9", photo, {}, cache, patches=1))
    heat = first.pictures[0][0]
    assert max(heat.shape[:2]) == microscope.PHOTO_SIDE and heat.shape[0] / heat.shape[1] == pytest.approx(
        photo.shape[0] / photo.shape[1], abs=images.SNAP / microscope.PHOTO_SIDE)  # its aspect, short side snapped


@pytest.mark.parametrize("text", ["block4_conv3", "block4_conv3:999", "block1_pool:1", "tabby"])
def test_a_unit_is_a_conv_channel(backbone, text):
    with pytest.raises(InputError):
        microscope.parse_unit(backbone, text)


def test_no_shared_atlas_means_computing_on_demand(cache, monkeypatch):
    monkeypatch.delenv(picture_cache.REPO_ENV, raising=False)
    assert picture_cache.fetch_shared_cache(cache) == "no shared atlas configured"
    import huggingface_hub

    def offline(**kwargs):
        raise ConnectionError("offline")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    assert "computed on demand" in picture_cache.fetch_shared_cache(cache, "someone/vgg16-atlas")


# ---------------------------------------------------------------- the tab, through the API and a browser


def fill(backbone, layer: str, channels, settings=microscope.TILE) -> None:
    """Put stand-in pictures in the app's cache (the real ones are tested above): views of cached tiles."""
    cache = picture_cache.TileCache()
    for c in channels:
        cache.put(atlas.tile_key(backbone, layer, c, settings), np.full((32, 32, 3), (c * 3) % 255, np.uint8))


def test_api_atlas_page_from_the_cache(backbone, client, monkeypatch):
    fill(backbone, "block1_conv2", range(64))
    monkeypatch.setattr(atlas, "render", lambda *args: pytest.fail("a cached page computed a tile"))
    gallery, status = client.predict("block1_conv2", 0, api_name="/atlas")
    assert [g["caption"] for g in gallery[:2]] == ["block1_conv2:0", "block1_conv2:1"] and len(gallery) == 64
    assert status.endswith("done")


def test_api_unit_page(backbone, client):
    fill(backbone, "block2_conv2", [5], microscope.UNIT)
    fill(backbone, "block2_conv2", [5], microscope.TileSettings(microscope.UNIT.size, microscope.UNIT.steps, "lucid", 1))
    pictures, about = client.predict("block2_conv2:5", handle_file(EXAMPLES[2]), api_name="/unit")
    captions = [p["caption"] for p in pictures]
    assert captions[:3] == ["block2_conv2:5 · seed 0", "block2_conv2:5 · seed 1",
                            "caricature: DeepDream of this unit from the photo"]
    assert "fires on the photo" in captions[3] and "?unit=block2_conv2:5" in about
    with pytest.raises(Exception, match="A unit is a conv channel"):
        client.predict("block2_conv2", api_name="/unit")


@pytest.fixture(scope="module")
def page(app_url):
    yield from open_page(app_url)


def test_links_open_the_atlas_and_a_unit(backbone, app_url, page):
    fill(backbone, "block1_conv1", range(64))
    page.goto(app_url + "?layer=block1_conv1")
    page.wait_for_function("document.querySelectorAll('#atlas img').length >= 64", timeout=30_000)
    assert "block1_conv1:63" in page.locator("#atlas").inner_text()
    page.locator("#atlas img").nth(2).click()  # a tile opens its unit page, scrolled into view
    page.wait_for_function("document.querySelector('#unit-about').innerText.includes('block1_conv1:2')",
                           timeout=60_000)
    page.wait_for_function("(() => { const top = document.querySelector('#unit-about').getBoundingClientRect().top; "
                           "return top >= 0 && top < window.innerHeight / 2; })()", timeout=10_000)
    wait_for_the_whole_unit_page(page)
    fill(backbone, "block1_conv2", [7], microscope.UNIT)
    fill(backbone, "block1_conv2", [7], microscope.TileSettings(microscope.UNIT.size, microscope.UNIT.steps, "lucid", 1))
    page.goto(app_url + "?unit=block1_conv2:7")
    page.wait_for_function("document.querySelector('#unit-about') && "
                           "document.querySelector('#unit-about').innerText.includes('?unit=block1_conv2:7')",
                           timeout=60_000)
    wait_for_the_whole_unit_page(page)


def test_clicking_an_activation_grid_opens_the_channels_unit_page(page, app_url):
    page.goto(app_url)
    panel = page.locator("#tab-activations")
    panel.locator("button:has(img)").nth(1).click()
    page.locator("#activations-image img").wait_for()
    panel.get_by_role("button", name="Show activations").click()
    page.wait_for_function("document.querySelectorAll('#activation-grids img').length >= 13", timeout=60_000)
    grid = page.locator("#grid-picker img")
    grid.wait_for(timeout=20_000)  # the first grid (block1_conv1) is there without a choice
    first = grid.get_attribute("src")
    page.locator("#activation-grids img").nth(1).click()  # choose block1_conv2's grid instead
    page.wait_for_function("src => document.querySelector('#grid-picker img').src !== src", arg=first,
                           timeout=20_000)
    box = grid.bounding_box()
    grid.click(position={"x": 0.31 * box["width"], "y": 0.31 * box["height"]})  # inside a cell of the 8×8 grid
    page.wait_for_function("document.querySelector('#unit-about') && "
                           "document.querySelector('#unit-about').innerText.includes('block1_conv2:')", timeout=60_000)
    assert page.locator("#tab-microscope").is_visible()
    wait_for_the_whole_unit_page(page)


def wait_for_the_whole_unit_page(page):
    """Two seeds, the caricature, the activation map and the top patches: the run has ended."""
    page.wait_for_function("document.querySelectorAll('#unit-pictures img').length >= 10", timeout=120_000)
    assert "caricature" in page.locator("#unit-pictures").inner_text()


def test_batches_start_small_then_cover_everything_once():
    items = list(range(30))
    parts = list(atlas.batches(items))
    assert [len(p) for p in parts] == [atlas.FIRST_BATCH] + [atlas.BATCH] * 3 + [30 - atlas.FIRST_BATCH - 3 * atlas.BATCH]
    assert sum(parts, []) == items and list(atlas.batches([])) == []


class ServerStopped(Exception):
    pass


def stop_after_a_batch(line: str) -> None:
    raise ServerStopped(line)


def test_the_idle_fill_makes_what_visitors_missed_first_then_layer_by_layer(backbone, tmp_path):
    """The whole atlas in the order it is filled: the tiles a visitor was shown missing first, then each
    block's last layer deepest first; a fill stopped and started again goes on where it stopped, and
    none starts while the cache holds its share of the limit."""
    tiny = microscope.TileSettings(size=64, steps=2)
    order = atlas.fill_order(backbone)
    assert order[:2] == ["block5_conv3", "block4_conv3"] and sorted(order) == sorted(model.conv_layers(backbone))
    cache = picture_cache.TileCache(tmp_path, max_mb=100)
    atlas.want(cache, ["block2_conv1:5", "block2_conv1:9", "block2_conv1:5"])
    assert atlas.next_missing(backbone, cache, tiny) == ("block2_conv1", [5, 9])
    for k in range(3):  # the wanted tiles, then block5_conv3's first batch, then its second
        with pytest.raises(ServerStopped):
            atlas.fill_atlas(backbone, cache, stop_after_a_batch, tiny)
        assert atlas.next_missing(backbone, cache, tiny) == ("block5_conv3", list(range(k * atlas.BATCH,
                                                                                         (k + 1) * atlas.BATCH)))
    assert atlas.ready(backbone, cache, tiny)["block5_conv3"] == (2 * atlas.BATCH, 512)
    assert atlas.ready(backbone, cache, tiny)["block2_conv1"] == (2, 128)
    cache.max_bytes = cache.size()
    assert atlas.fill_atlas(backbone, cache, stop_after_a_batch, tiny) == 0


def test_the_microscope_says_how_much_of_the_atlas_is_ready(backbone, app_url, page):
    fill(backbone, "block1_conv1", range(64))
    page.goto(app_url + "?layer=block1_conv1")
    page.wait_for_function("document.querySelector('#atlas-ready')?.innerText.includes('ready')", timeout=30_000)
    text = page.locator("#atlas-ready").inner_text()
    assert "block1_conv1 64/64" in text and "of 4,224 channel pictures ready" in text
