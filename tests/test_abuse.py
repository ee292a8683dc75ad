"""Hostile input: crafted requests a stranger could send to the public Space. Each gets a clear
message or a correct result, costs bounded memory, and leaves the server serving.
(benchmarks/abuse.py sends them to `python app.py` in its own process and reports figures.)"""

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

from ui.page import build_page
from ui.photos import EXAMPLES

CAT = EXAMPLES[1]


def still_serving(client):
    grids, *_ = client.predict(handle_file(CAT), ["block1_conv1"], 4, api_name="/activations")
    assert len(grids) == 1


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """The highest resident memory of this process (the server runs in it) while the block runs."""

    def __enter__(self):
        self.start, self.peak, self.done = rss_mb(), 0.0, threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()
        return self

    def sample(self):
        while not self.done.is_set():
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.02)

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()

    @property
    def growth(self) -> float:
        return self.peak - self.start


def many_frames_gif(path, frames: int = 100, side: int = 1000) -> str:
    """A small file of many large frames: cheap to send, ~3 MB a frame once decoded."""
    pictures = [Image.new("P", (side, side), color=k % 2) for k in range(frames)]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=20)
    return str(path)


def test_an_animation_of_many_large_frames_costs_one_frame(client, tmp_path):
    gif = many_frames_gif(tmp_path / "frames.gif")
    assert Path(gif).stat().st_size < 2_000_000
    still_serving(client)  # warm, so that only the upload's own cost is measured
    with PeakRss() as memory:
        grids, *_ = client.predict(handle_file(gif), ["block1_conv1"], 4, api_name="/activations")
    assert len(grids) == 1
    assert memory.growth < 150, memory.growth  # 100 frames decoded and converted: +370 MB


def test_layers_are_deduplicated_and_only_spatial_ones_taken(client):
    grids, *_ = client.predict(handle_file(CAT), ["block5_conv3"] * 40 + ["block1_conv1"], 4,
                               api_name="/activations")
    assert [g["caption"].split(" ·")[0] for g in grids] == ["block1_conv1", "block5_conv3"]
    with pytest.raises(Exception, match="not in the list of choices"):  # Gradio's dropdown; viz says why too
        client.predict(handle_file(CAT), ["fc1"], 4, api_name="/activations")


def test_the_custom_preset_runs_with_its_knobs(client):
    gallery, status, files = client.predict(["block3_conv3:5"], 16, 64, "custom", "noise", None, 1, 0,
                                            "pixels", 0.05, 4, 0.05, 5.0, 0.0, 0.0, api_name="/visualize")
    assert "Step 16 / 16" in status and len(files) == 1
    with pytest.raises(Exception, match="not in the list of choices"):
        client.predict(["block3_conv3:5"], 16, 64, "custom", "noise", None, 1, 0, "<b>wavelets</b>",
                       api_name="/visualize")


BAIT = '<a href="//example.invalid">claim your prize</a>'


@pytest.mark.parametrize("endpoint,args,message", [
    ("/unit", [BAIT * 3], "Unknown target"),
    ("/unit", [BAIT + ":1"], "Unknown layer|not a layer"),
    ("/visualize", [[BAIT]], "Unknown target"),
    ("/attribution", [handle_file(CAT), BAIT], "Unknown target"),
    ("/atlas", [BAIT], "not in the list of choices"),  # Gradio's own refusal, escaped too
    ("/reconstruct", [handle_file(CAT), BAIT], "not in the list of choices"),
])
def test_quoted_input_comes_back_as_text_not_markup(client, endpoint, args, message):
    with pytest.raises(Exception, match=message) as caught:
        client.predict(*args, api_name=endpoint)
    text = str(caught.value)
    assert "<a" not in text and "</a>" not in text and len(text) < 1200, text


@pytest.mark.parametrize("seed", [2 ** 70, -1])
@pytest.mark.parametrize("endpoint,args", [
    ("/visualize", [["block3_conv3:5"], 16, 64, "lucid", "noise", None, 1]),
    ("/reconstruct", [handle_file(CAT), "block1_conv1", 10, None, 64, 1.0, 0.0, "lbfgs", 0.0]),
])
def test_seeds_out_of_range_get_a_clear_message(client, endpoint, args, seed):
    with pytest.raises(Exception, match="Seed must be between 0 and|less than minimum value 0"):
        client.predict(*args, seed, api_name=endpoint)


@pytest.mark.parametrize("value", ["NaN", "inf", "abc"])
def test_numbers_that_are_not_numbers_get_a_clear_message(client, value):
    with pytest.raises(Exception, match="must be a number"):
        client.predict(["block3_conv3:5"], 16, 64, "lucid", "noise", None, 1, value, api_name="/visualize")
    still_serving(client)


def test_pruning_keeps_a_folder_within_its_bound_oldest_first(tmp_path):
    import os

    from viz.io.disk import prune

    now = time.time()
    for k in range(10):
        path = tmp_path / f"run-{k}" / "picture.png"
        path.parent.mkdir()
        path.write_bytes(b"x" * 1000)
        for made in (path, path.parent):
            os.utime(made, (now - 1000 + k, now - 1000 + k))  # run-0 is the oldest
    fresh = tmp_path / "run-new" / "picture.png"
    fresh.parent.mkdir()
    fresh.write_bytes(b"x" * 5000)
    left = prune(tmp_path, 6000, spare_seconds=60)
    assert left == 6000 and fresh.exists()
    assert sorted(p.parent.name for p in tmp_path.glob("*/*.png")) == ["run-9", "run-new"]
    assert not (tmp_path / "run-0").exists()  # its emptied folder went too (it was old)
    assert prune(tmp_path, 0, spare_seconds=60) == 5000  # the fresh file is spared


def test_the_janitor_keeps_gradios_cache_within_its_bound(tmp_path):
    from ui import files

    for k in range(20):
        (tmp_path / f"file-{k}").write_bytes(b"x" * 100_000)
    files.keep_cache_small(str(tmp_path), limit_mb=0.5, every=0.1, spare_seconds=0.0)
    deadline = time.monotonic() + 30
    while held(tmp_path) > 0.5 * 2 ** 20 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert held(tmp_path) <= 0.5 * 2 ** 20


def held(folder) -> int:
    """The bytes of the files in `folder`, skipping those the janitor deletes meanwhile."""
    total = 0
    for path in folder.iterdir():
        try:
            total += path.stat().st_size
        except FileNotFoundError:
            pass
    return total


def test_photos_of_many_sizes_reach_the_network_in_few_shapes():
    from viz import images
    from viz.io import imagefiles

    rng = np.random.default_rng(0)
    shapes = set()
    for _ in range(300):
        h, w = rng.integers(40, 3000, 2)
        if max(h, w) / min(h, w) > imagefiles.MAX_ASPECT:
            continue
        fitted = images.fit_for_network(np.zeros((h, w, 3), np.uint8), 224)
        assert max(fitted.shape[:2]) == 224 and all(side % images.SNAP == 0 for side in fitted.shape[:2])
        shapes.add(fitted.shape)
    assert len(shapes) <= 2 * 224 // images.SNAP  # each orientation, each short side


def test_fitting_for_the_network_crops_and_never_stretches():
    from viz import images

    photo = np.zeros((300, 450, 3), np.uint8)
    photo[..., 0] = np.arange(450)[None] // 2  # ramps across and down: stretching would change a slope
    photo[..., 1] = np.arange(300)[:, None] // 2
    fitted = images.fit_for_network(photo, 224).astype(float)
    assert fitted.shape == (144, 224, 3)  # 149.3 rows → 144: a little cropped, top and bottom
    across = np.polyfit(np.arange(224), fitted[72, :, 0], 1)[0]
    down = np.polyfit(np.arange(144), fitted[:, 112, 1], 1)[0]
    assert across == pytest.approx(450 / 224 / 2, rel=0.01) and down == pytest.approx(450 / 224 / 2, rel=0.01)


def underlying(fn):
    """The function an event runs, through the wrappers and partials around it."""
    while True:
        if hasattr(fn, "__wrapped__"):
            fn = fn.__wrapped__
        elif hasattr(fn, "func"):
            fn = fn.func
        else:
            return fn


def test_every_optimizing_run_however_it_starts_shares_the_one_worker(backbone):
    """Buttons, API calls, atlas-tile and grid clicks, links: every event that runs the optimization
    loop sits in the one `optimize` group (private events can be called through the queue too)."""
    from ui import microscope, reconstruction, style, visualization

    demo, _ = build_page(backbone)
    optimizing = {microscope.show_atlas, microscope.show_unit, reconstruction.show_reconstruction, style.show_style,
                  visualization.show_pictures}
    runs = [f for f in demo.fns.values() if f.fn is not None and underlying(f.fn) in optimizing]
    assert len(runs) >= 12  # /atlas, /unit, a tile click, a grid click, a circuit's three galleries' clicks,
    assert {(f.concurrency_id, f.concurrency_limit) for f in runs} == {("optimize", 1)}  # links, the three tabs
    assert sum(f.api_visibility == "private" for f in runs) == 7
    circuits = [f for f in demo.fns.values() if f.fn is not None and underlying(f.fn) is microscope.show_circuit]
    drawing = [f for f in circuits if f.concurrency_id == "optimize"]  # those that make missing pictures
    assert len(drawing) == len(runs) - 5 and len(circuits) == 2 * len(drawing)  # and as many at once, beside
    assert {f.concurrency_id for f in circuits if f not in drawing} == {"forward"}
