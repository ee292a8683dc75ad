"""The first visit: each tab's finished example, computed once by its own handler, stored, and shown at
every page load; one photo offered to every tab."""

import contextlib
import functools
import os
import re
import shutil
import time

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import open_page, serve
from ui import fill, showcase
from ui.photos import EXAMPLE
from ui.reconstruction import OUTPUTS, show_reconstruction
from ui.streaming import streamed


@pytest.fixture(scope="module")
def parts(backbone):
    from ui.page import build_page

    return build_page(backbone)


def named(showcases, name):
    return next(s for s in showcases if s.name == name)


def test_values_survive_the_store(tmp_path, photo):
    store = showcase.Store(tmp_path)
    frame = pd.DataFrame([{"step": 1, "loss": 0.5}])
    values = [photo, [(photo, "a caption")], frame, EXAMPLE, "**done**", None]
    store.put("k", values)
    picture, gallery, table, example, text, nothing = store.get("k")
    assert np.array_equal(np.asarray(Image.open(picture).convert("RGB")), photo)
    assert gallery[0][1] == "a caption" and Image.open(gallery[0][0]).size == photo.shape[1::-1]
    assert table.equals(frame) and (text, nothing) == ("**done**", None)
    assert open(example, "rb").read() == open(EXAMPLE, "rb").read() and example.startswith(str(tmp_path))
    assert os.path.basename(example) == "cat.jpg"  # a download keeps its name
    assert store.get("absent") is None


def test_a_second_writer_leaves_the_first_result(tmp_path):
    store = showcase.Store(tmp_path)
    store.put("k", ["first"])
    store.put("k", ["second"])
    assert store.get("k") == ["first"] and [p.name for p in store.folder.iterdir()] == ["k"]


def test_the_key_follows_the_example_bytes_and_settings_not_its_path(backbone, parts, tmp_path):
    _, showcases = parts
    reconstruction = named(showcases, "reconstruction")
    moved = tmp_path / "cat.jpg"
    shutil.copyfile(EXAMPLE, moved)
    same = showcase.Showcase("reconstruction", reconstruction.run, reconstruction.outputs,
                             about=(str(moved), *reconstruction.about[1:]))
    assert showcase.key(backbone, same) == showcase.key(backbone, reconstruction)
    other = showcase.Showcase("reconstruction", reconstruction.run, reconstruction.outputs, about=("block2_conv2",))
    assert showcase.key(backbone, other) != showcase.key(backbone, reconstruction)
    assert len({showcase.key(backbone, s) for s in showcases}) == len(showcases) == 7


def test_every_tab_has_its_example(parts):
    _, showcases = parts
    assert [s.name for s in showcases] == ["activations", "attribution", "blocks", "reconstruction", "visualization",
                                           "style", "microscope"]


def test_fill_stores_what_the_tabs_show(backbone, parts, tmp_path):
    """The fast examples for real, and a short streamed run of the Reconstruction tab's handler: each
    stored value is one its output component accepts."""
    _, showcases = parts
    handler = streamed(functools.partial(show_reconstruction, backbone), OUTPUTS, 0)
    values = {"image": EXAMPLE, "layer": "block3_conv3", "layer_set": None, "stretch": True, "steps": 3, "size": 64}
    short = showcase.Showcase("reconstruction", lambda: handler(values), named(showcases, "reconstruction").outputs,
                              about=("short",))
    chosen = [named(showcases, "activations"), named(showcases, "attribution"), short]
    store, lines = showcase.Store(tmp_path), []
    fill.fill(backbone, chosen, store, progress=lines.append)
    assert len(lines) == 3 and not showcase.missing(backbone, chosen, store)
    for case in chosen:
        values = store.get(showcase.key(backbone, case))
        assert len(values) == len(case.outputs)
        for component, value in zip(case.outputs, values):
            component.postprocess(value)  # raises on a value Gradio would refuse
    grids = store.get(showcase.key(backbone, chosen[0]))[0]
    assert len(grids) == 13 and np.asarray(Image.open(grids[0][0])).std() > 10
    status = store.get(showcase.key(backbone, short))[2]
    assert status.startswith("**Step 3 / 3**")
    fill.fill(backbone, chosen, store, progress=lines.append)
    assert len(lines) == 3  # nothing computed twice


def test_final_keeps_a_streams_last_values():
    def stream():
        yield 1
        yield 2
        return "done"

    assert fill.final(stream) == (2, "done") and fill.final(lambda: (3,)) == ((3,), "done")


def test_a_run_cut_by_the_time_limit_is_not_kept(backbone, tmp_path):
    def cut():
        yield ("half a picture",)
        return "time limit"

    store, lines = showcase.Store(tmp_path), []
    case = showcase.Showcase("cut", cut, [None])
    fill.fill(backbone, [case], store, progress=lines.append)
    assert showcase.missing(backbone, [case], store) == [case] and "not kept" in lines[-1]


def test_the_background_fill_runs_at_the_lowest_priority(monkeypatch):
    started = {}

    class Popen:
        def __init__(self, command, cwd, preexec_fn):
            started.update(command=command, preexec_fn=preexec_fn)

    monkeypatch.setattr(fill.subprocess, "Popen", Popen)
    monkeypatch.setattr(fill.BUSY, "listeners", [])
    niced, asked = [], []
    monkeypatch.setattr(fill.os, "nice", niced.append)
    monkeypatch.setattr(fill, "c_library", lambda: type("libc", (), {"prctl": staticmethod(lambda *a: asked.append(a))}))
    fill.fill_in_background("hed")
    assert started["command"][1:] == ["-m", "ui.fill", "--weights", "hed"]
    started["preexec_fn"]()
    assert niced == [19] and len(fill.BUSY.listeners) == 1  # it pauses while visitors run
    assert asked == [(fill.PR_SET_PDEATHSIG, 9)]  # and ends with the server


def test_the_background_fill_ends_with_the_server_that_started_it():
    """A server stopped (here: killed) while its fill runs leaves no fill computing behind."""
    import signal
    import subprocess
    import sys

    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time; from ui.fill import "
                               "lowest_priority; child = subprocess.Popen(['sleep', '60'], preexec_fn=lowest_priority); "
                               "print(child.pid, flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    for _ in range(100):
        if not os.path.exists(f"/proc/{child}") or open(f"/proc/{child}/stat").read().split(") ")[1][0] == "Z":
            break
        time.sleep(0.05)
    else:
        pytest.fail("the fill outlived its server")


def test_a_failing_listener_never_refuses_a_run(monkeypatch):
    from ui.runs import BUSY, user_errors

    def broken(busy):
        raise OSError("no such process")

    monkeypatch.setattr(BUSY, "listeners", [broken])
    assert user_errors(lambda: 7, "/test")() == 7 and BUSY.count == 0


def test_the_first_visit_shows_stored_results_and_one_photo_reaches_every_tab(backbone, parts, tmp_path_factory,
                                                                               monkeypatch):
    """A fresh server whose store holds the Activations tab's examples: they are on the page as it
    opens, and nothing runs for it (no run is logged); one click on 'Use this photo in every tab' puts
    an upload into every tab."""
    from ui import runs as run_log

    runs = []
    monkeypatch.setattr(run_log, "log_run", lambda *run: runs.append(run))
    _, showcases = parts
    folder = tmp_path_factory.mktemp("warm")
    os.environ["VIZ_ATLAS_DIR"], before = str(folder), os.environ["VIZ_ATLAS_DIR"]
    try:
        fill.fill(backbone, [named(showcases, "activations"), named(showcases, "attribution")],
                      showcase.Store(), progress=lambda line: None)
        server = serve(backbone)
        url = next(server)
    finally:
        os.environ["VIZ_ATLAS_DIR"] = before
    try:
        with contextlib.closing(open_page(url)) as pages:
            first_visit(next(pages), runs)
    finally:
        next(server, None)


def first_visit(page, runs: list):
    """The stored results are on the page as it opens, without a run; the share button reaches other tabs."""
    start = time.monotonic()
    page.wait_for_function("document.querySelectorAll('#activation-grids img').length >= 13", timeout=10_000)
    page.get_by_role("tab", name="Where it looks").click()
    page.wait_for_function("document.querySelectorAll('#attribution-maps img').length >= 4", timeout=10_000)
    shown = time.monotonic() - start
    assert "Grad-CAM" in page.locator("#attribution-maps").inner_text()
    page.wait_for_timeout(1000)
    assert runs == []  # a page view computes nothing, and queues nothing (no link: no link run)
    assert page.locator("#tab-style #style-content img").count() == 0  # nothing shared yet
    page.get_by_role("tab", name="Activations").click()
    page.locator("#tab-activations").get_by_role("button", name="Use this photo in every tab").click()
    for tab, photo in [("Style transfer", "#style-content"), ("Reconstruction", "#reconstruction-image"),
                       ("Building blocks", "#blocks-image")]:
        page.get_by_role("tab", name=tab).click()
        page.locator(f"{photo} img").wait_for(timeout=10_000)
    print(f"first visit: stored results on the page {shown:.2f} s after its header")


def luminance(css_colour: str) -> float:
    """0 (black) to 1 (white) for a CSS `rgb(...)`/`rgba(...)` colour."""
    r, g, b = (float(v) for v in re.findall(r"[\d.]+", css_colour)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def test_on_a_phone_the_button_is_within_a_screen_of_the_photo(app_url, tmp_path):
    with contextlib.closing(open_page(app_url, width=390, height=844)) as pages:
        phone_layout(next(pages), tmp_path)


def phone_layout(page, tmp_path):
    photo = page.locator("#activations-image").bounding_box()
    button = page.locator("#tab-activations").get_by_role("button", name="Show activations").bounding_box()
    assert button["y"] + button["height"] - photo["y"] <= 844
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    page.screenshot(path=str(tmp_path / "phone-activations.png"), full_page=True)


def test_dark_mode_is_light_text_on_a_dark_page(app_url, tmp_path):
    with contextlib.closing(open_page(app_url + "?__theme=dark")) as pages:
        dark_page(next(pages), tmp_path)


def dark_page(page, tmp_path):
    shot = tmp_path / "dark-activations.png"
    page.screenshot(path=str(shot), full_page=True)
    text = page.evaluate("getComputedStyle(document.querySelector('#tab-activations p')).color")
    seen = np.asarray(Image.open(shot).convert("L"), np.float32) / 255
    assert np.median(seen) < 0.25 and luminance(text) > 0.6, (np.median(seen), text)


def test_a_visitors_run_pauses_the_background_fill(monkeypatch):
    """The first run to start tells the listeners 'busy', the last to end 'idle'; a listener pauses the
    fill's process meanwhile (SIGSTOP, SIGCONT)."""
    import subprocess

    from ui.runs import BUSY, user_errors

    assert BUSY.count == 0, BUSY.count
    process = subprocess.Popen(["sleep", "60"])
    heard = []
    monkeypatch.setattr(BUSY, "listeners", [heard.append, functools.partial(fill.pause, process)])

    def state() -> str:
        """The process's state once it settles (signals are delivered asynchronously): T is stopped."""
        for _ in range(50):
            first = open(f"/proc/{process.pid}/stat").read().split(") ")[1][0]
            time.sleep(0.02)
            if open(f"/proc/{process.pid}/stat").read().split(") ")[1][0] == first:
                return first
        return first

    def stream():
        assert state() == "T" and BUSY.count == 2  # stopped while the runs are in progress
        yield 1

    try:
        with BUSY.running():
            assert list(user_errors(stream, "/test")()) == [1]
            assert heard == [True] and state() == "T"
        assert heard == [True, False] and state() in "SR"
    finally:
        process.kill()
