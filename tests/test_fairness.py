"""Fair to every visitor: one client cannot hold the queue, stall the server with a large body, fill its
disk with uploads or spike its memory with an allowed photo; a run ends within an evaluation of its
time limit; refusals are in words. (benchmarks/abuse.py measures the same against `python app.py`.)"""

import json
import os
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from ui import files, runs
from ui.photos import EXAMPLES
from viz.engine.optimize import TimeUp, check_the_clock, stop_by
from viz.errors import InputError
from viz.io import imagefiles

CAT = EXAMPLES[1]


def dependency(app_url: str, api_name: str) -> int:
    config = httpx.get(app_url + "config", timeout=30).json()
    return next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)


def join(app_url: str, fn_index: int, session: str, data: list, event_data=None) -> httpx.Response:
    body = {"data": data, "fn_index": fn_index, "session_hash": session, "event_data": event_data, "trigger_id": None}
    return httpx.post(app_url + "gradio_api/queue/join", json=body, timeout=30)


def test_a_body_larger_than_any_call_needs_is_refused_before_it_is_read(app_url, client):
    start = time.monotonic()
    huge = b'{"data": [' + b"[]," * 3_000_000 + b"[]]}"  # 9 MB of empty lists
    answer = httpx.post(app_url + "gradio_api/call/activations", content=huge, timeout=30,
                        headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "larger than any call" in answer.json()["detail"]
    assert time.monotonic() - start < 2

    def chunks():  # no Content-Length: refused once it passes the bound
        for _ in range(100):
            yield b"[]," * 10_000

    answer = httpx.post(app_url + "gradio_api/call/activations", content=chunks(), timeout=30)
    assert answer.status_code == 413
    grids, *_ = client.predict(httpx_free_cat(), ["block1_conv1"], 4, api_name="/activations")
    assert len(grids) == 1  # and everyone else is still served


def httpx_free_cat():
    from gradio_client import handle_file

    return handle_file(CAT)


def test_one_session_has_a_bounded_share_of_the_queue_and_unread_runs_never_run(app_url, client, monkeypatch):
    """Unread joins of a heavy run from one session: two are taken (and dropped at their turn, since
    nobody listens), the rest refused in words; another client is served meanwhile."""
    endings = []
    monkeypatch.setattr(runs, "log_run", lambda endpoint, seconds, ending: endings.append((endpoint, ending)))
    index, session = dependency(app_url, "reconstruct"), uuid.uuid4().hex
    data = [None, "block1_conv1", 1000, None, 384]  # heavy, if it ever ran
    answers = [join(app_url, index, session, data) for _ in range(6)]
    assert [a.status_code for a in answers] == [200, 200, 429, 429, 429, 429]
    assert "wait for one to finish" in answers[-1].json()["detail"]
    start = time.monotonic()
    grids, *_ = client.predict(httpx_free_cat(), ["block1_conv1"], 4, api_name="/activations")
    assert len(grids) == 1 and time.monotonic() - start < 15
    deadline = time.monotonic() + 30
    while endings.count(("/reconstruct", "abandoned")) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert endings.count(("/reconstruct", "abandoned")) == 2


def test_a_run_whose_client_leaves_stops_at_its_next_snapshot(app_url, monkeypatch):
    endings = []
    monkeypatch.setattr(runs, "log_run", lambda endpoint, seconds, ending: endings.append((endpoint, seconds, ending)))
    index, session = dependency(app_url, "visualize"), uuid.uuid4().hex
    assert join(app_url, index, session, [None, 1000]).status_code == 200  # 1000 steps: minutes, if it went on
    with httpx.stream("GET", app_url + f"gradio_api/queue/data?session_hash={session}", timeout=60) as listening:
        next(line for line in listening.iter_lines() if "process_generating" in line)  # its first picture
    left = time.monotonic()  # the page is closed
    while not endings and time.monotonic() - left < 20:
        time.sleep(0.2)
    assert [(endpoint, ending) for endpoint, _, ending in endings] == [("/visualize", "stopped")]


def test_uploads_are_refused_while_the_folder_holds_its_budget(app_url, monkeypatch):
    monkeypatch.setattr(files.DISK, "limit", files.DISK.held + 100_000)  # about one small upload left
    with open(CAT, "rb") as photo:
        small = httpx.post(app_url + "gradio_api/upload", files={"files": ("a.jpg", photo.read()[:50_000])}, timeout=30)
    assert small.status_code == 200
    big = httpx.post(app_url + "gradio_api/upload", files={"files": ("b.png", b"\0" * 200_000)}, timeout=30)
    assert big.status_code == 507 and "full for a moment" in big.json()["detail"]


def test_a_raw_call_may_leave_out_inputs(app_url):
    with open(CAT, "rb") as photo:
        uploaded = httpx.post(app_url + "gradio_api/upload", files={"files": ("cat.jpg", photo.read())}, timeout=30)
    path = uploaded.json()[0]
    event = httpx.post(app_url + "gradio_api/call/activations",
                       json={"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}]}, timeout=30)
    stream = httpx.get(app_url + f"gradio_api/call/activations/{event.json()['event_id']}", timeout=120).text
    assert "event: complete" in stream and "block5_conv3" in stream  # every conv layer, as the widgets say


def test_a_run_ends_within_an_evaluation_of_its_time_limit():
    from ui.streaming import TimeLimited

    def slow():
        for _ in range(100):  # 10 s of "evaluations" before the first snapshot
            check_the_clock()
            time.sleep(0.1)
        yield "late"

    start = time.monotonic()
    limited = TimeLimited(slow(), 0.5)
    assert list(limited) == [] and limited.cut
    assert time.monotonic() - start < 3.0  # the limit, an evaluation, and the memory handed back after
    with stop_by(time.monotonic() - 1):
        with pytest.raises(TimeUp):
            check_the_clock()
    check_the_clock()  # outside, no limit


def test_a_photo_is_decoded_no_larger_than_the_network_needs(tmp_path):
    path = tmp_path / "large.jpg"
    Image.new("RGB", (6000, 4000), (30, 120, 200)).save(path)
    assert imagefiles.load_image(str(path)).shape == (683, 1024, 3)
    rotated = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90°: shown as 2000×3000
    Image.new("RGB", (3000, 2000)).save(rotated, exif=exif)
    assert imagefiles.size_of(str(rotated)) == (2000, 3000)
    assert imagefiles.load_image(str(rotated)).shape[:2] == (1024, 683)  # upright


def test_a_png_whose_text_chunk_inflates_gets_a_message(tmp_path):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "x" * 20_000_000, zip=True)  # a small zTXt chunk, 20 MB inflated
    path = tmp_path / "chunk.png"
    Image.new("RGB", (64, 64)).save(path, pnginfo=info)
    with pytest.raises(InputError, match="text or colour-profile chunk"):
        imagefiles.load_image(str(path))


def test_the_clicks_say_what_is_wrong(app_url):
    """The photo click of the Building blocks with no photo: a message, not a bare 'Error'."""
    config = httpx.get(app_url + "config", timeout=30).json()
    blocks_image = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "blocks-image")
    click = next(d for d in config["dependencies"] if d["targets"] and d["targets"][0][0] == blocks_image
                 and d["targets"][0][1] == "select")
    session = uuid.uuid4().hex
    joined = join(app_url, click["id"], session, [None], {"index": [10, 10], "value": None})
    assert joined.status_code == 200, joined.text
    with httpx.stream("GET", app_url + f"gradio_api/queue/data?session_hash={session}", timeout=60) as events:
        text = ""
        for line in events.iter_lines():
            text += line
            if "process_completed" in line:
                break
    assert "No image was given" in json.dumps(text)


def test_a_picture_too_large_to_decode_whole_is_refused_in_words(tmp_path, monkeypatch):
    """Only a JPEG is decoded at a reduced scale: any other picture's whole raster is held to a budget."""
    monkeypatch.setattr(imagefiles, "MAX_RASTER", 100 * 100 * 4)
    Image.new("RGBA", (120, 120)).save(tmp_path / "alpha.png")
    Image.new("RGB", (400, 400)).save(tmp_path / "photo.jpg")
    with pytest.raises(InputError, match=r"120×120 px in RGBA: too large to decode here \(in RGBA, at most 0 mega"):
        imagefiles.load_image(str(tmp_path / "alpha.png"))
    assert imagefiles.load_image(str(tmp_path / "photo.jpg")).shape == (400, 400, 3)


def test_a_picture_sent_again_is_not_rewritten_under_a_reader(tmp_path):
    """A stream re-sends its unchanged pictures: the file a browser may be reading stays as it is (only
    marked fresh for the janitor), and a new picture appears whole."""
    from gradio import processing_utils

    files.pictures_written_once()
    picture = Image.new("RGB", (40, 30), (200, 10, 10))
    first = processing_utils.save_img_array_to_cache(np.asarray(picture), str(tmp_path), format="png")
    inode, before = Path(first).stat().st_ino, time.time() - 3600
    os.utime(first, (before, before))
    again = processing_utils.save_img_array_to_cache(np.asarray(picture), str(tmp_path), format="png")
    assert again == first and Path(again).stat().st_ino == inode and Path(again).stat().st_mtime > before + 3000
    assert np.array_equal(np.asarray(Image.open(again)), np.asarray(picture))
    assert [p.name for p in Path(first).parent.iterdir()] == ["image.png"]  # no part left behind
