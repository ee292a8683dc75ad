"""Ready for strangers: bad input through gradio_client gets a clear message and the server keeps
serving; cancelled runs free the worker; callers cannot reach files on the server."""

import threading
import time

import httpx
import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

import app
from ui.photos import EXAMPLES
from ui.style import STYLES
from viz import images

CAT = EXAMPLES[1]


def make(tmp_path, name, image=None, data=None, **save):
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    else:
        image.save(path, **save)
    return str(path)


def bad_images(tmp_path):
    full = tmp_path / "full.jpg"
    Image.open(CAT).save(full)
    return {
        "not an image": (make(tmp_path, "notes.txt", data=b"just some text"), "not an image"),
        "truncated": (make(tmp_path, "cut.jpg", data=full.read_bytes()[:2000]), "truncated or corrupt"),
        "1x1": (make(tmp_path, "dot.png", Image.new("RGB", (1, 1))), "1×1 px"),
        "10000x10000": (make(tmp_path, "huge.png", Image.new("1", (10000, 10000))), "megapixels"),
        "bomb": (make(tmp_path, "bomb.png", Image.new("1", (20000, 20000))), "megapixels"),
        "elongated": (make(tmp_path, "strip.png", Image.new("RGB", (3000, 20))), "apart"),
    }


GOOD = ["16-bit", "CMYK", "greyscale", "RGBA", "palette", "animated GIF", "EXIF-rotated"]


def good_images(tmp_path):
    photo = Image.open(CAT).convert("RGB").resize((120, 80))
    exif = Image.Exif()
    exif[274] = 8
    ramp = (np.linspace(0, 65535, 120 * 80).reshape(80, 120)).astype(np.uint16)
    return {
        "16-bit": make(tmp_path, "deep.png", Image.fromarray(ramp, "I;16")),
        "CMYK": make(tmp_path, "print.jpg", photo.convert("CMYK")),
        "greyscale": make(tmp_path, "grey.png", photo.convert("L")),
        "RGBA": make(tmp_path, "alpha.png", photo.convert("RGBA")),
        "palette": make(tmp_path, "palette.png", photo.convert("P")),
        "animated GIF": make(tmp_path, "anim.gif", photo, save_all=True, append_images=[photo.rotate(90)]),
        "EXIF-rotated": make(tmp_path, "turned.jpg", photo, exif=exif),
    }


def still_serving(client):
    grids, *_ = client.predict(handle_file(CAT), ["block1_conv1"], 4, api_name="/activations")
    assert len(grids) == 1


@pytest.mark.parametrize("case", ["not an image", "truncated", "1x1", "10000x10000", "bomb", "elongated"])
@pytest.mark.parametrize("endpoint", ["/activations", "/reconstruct"])
def test_bad_images_get_a_clear_message(client, tmp_path, case, endpoint):
    path, message = bad_images(tmp_path)[case]
    with pytest.raises(Exception, match=message) as caught:
        client.predict(handle_file(path), api_name=endpoint)
    assert "Traceback" not in str(caught.value) and str(tmp_path) not in str(caught.value)
    still_serving(client)


@pytest.mark.parametrize("case", GOOD)
def test_odd_but_valid_images_work(client, tmp_path, case):
    grids, heat, *_ = client.predict(handle_file(good_images(tmp_path)[case]), ["block2_conv1"], 4,
                                     api_name="/activations")
    h, w = np.asarray(Image.open(heat)).shape[:2]
    assert (h, w) == ((224, 144) if case == "EXIF-rotated" else (144, 224))  # 120×80 at 224 px: 149 → 144


def test_missing_images_are_asked_for(client):
    with pytest.raises(Exception, match="No image was given"):
        client.predict(None, api_name="/activations")
    with pytest.raises(Exception, match="No image was given"):
        client.predict(None, handle_file(STYLES[0]), api_name="/style_transfer")


BAD_PARAMETERS = [
    ("/reconstruct", dict(image=CAT, steps=-5), "less than minimum"),
    ("/reconstruct", dict(image=CAT, steps="many"), "Steps must be a number"),
    ("/reconstruct", dict(image=CAT, layer="block9_conv9"), "not in the list of choices"),
    ("/reconstruct", dict(image=CAT, size=10_000), "greater than maximum"),
    ("/visualize", dict(targets="unicorn"), "Unknown target"),
    ("/visualize", dict(targets="block4_conv3:9999"), "there is no channel 9999"),
    ("/visualize", dict(targets=",".join(f"block1_conv1:{i}" for i in range(9))), "At most 8 targets"),
    ("/visualize", dict(targets="tabby"), "needs the ImageNet classifier"),
    ("/visualize", dict(targets="block3_conv1", start="photo"), "No image was given"),
    ("/style_transfer", dict(content=CAT, style=CAT, size=5000), "greater than maximum"),
    ("/attribution", dict(image=CAT, target="block5_conv3:777"), "there is no channel 777"),
    ("/attribution", dict(image=CAT, target=""), "Name a target"),
    ("/activations", dict(image=CAT, top=0), "less than minimum"),
]


@pytest.mark.parametrize("endpoint,kwargs,message", BAD_PARAMETERS)
def test_bad_parameters_get_a_clear_message(client, endpoint, kwargs, message):
    kwargs = {k: handle_file(v) if k in ("image", "content", "style") else v for k, v in kwargs.items()}
    with pytest.raises(Exception, match=message):
        client.submit(**kwargs, api_name=endpoint).result()
    still_serving(client)


def test_a_cancelled_run_frees_the_worker(client, capfd):
    """A cancelled run ends on the server ('stopped' in its log line), freeing the one optimizing slot."""
    job = client.submit(handle_file(CAT), "block5_conv3", 1000, api_name="/reconstruct")
    deadline = time.monotonic() + 120  # a hang guard: the run streams its first snapshot after one step
    while not job.status().code.name == "ITERATING" and time.monotonic() < deadline:
        time.sleep(0.2)
    job.cancel()
    follow_up = client.submit(handle_file(CAT), "block1_conv1", 10, None, 64, api_name="/reconstruct")
    status = follow_up.result(timeout=300)[2]  # a hang guard only: a held slot shows in the endings below
    assert status.startswith("**Step 10 / 10**")
    runs = [line for line in capfd.readouterr().out.splitlines() if line.startswith("run /reconstruct ")]
    assert [line.rsplit(" s ", 1)[1] for line in runs] == ["stopped", "done"], runs  # not "time limit"


def test_concurrent_users_each_get_their_own_results(client, app_url):
    from gradio_client import Client

    def run(width, out):
        photo = Image.open(CAT).convert("RGB").resize((width, 100))
        path = f"/tmp/concurrent-{width}.png"
        photo.save(path)
        grids, *_ = Client(app_url, verbose=False).predict(handle_file(path), ["block2_pool"], 4,
                                                         api_name="/activations")
        out[width] = grids[0]["caption"]

    results: dict = {}  # widths whose maps differ in size after fitting for the network (few shapes)
    threads = [threading.Thread(target=run, args=(w, results)) for w in (120, 150, 200, 300)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 4
    for width, caption in results.items():  # each map size follows from that user's own photo
        h, w = images.fit_for_network(np.zeros((100, width, 3), np.uint8), 224).shape[:2]
        assert caption.startswith(f"block2_pool · {h // 4}×{w // 4}×128"), (width, caption)
    assert len(set(results.values())) == 4


def test_no_file_on_the_server_can_be_requested(app_url):
    # A caller names a server path instead of uploading: Gradio must refuse it, and say nothing of it.
    payload = {"data": [{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}, ["block1_conv1"], 4,
                        "mean activation", "feature maps", 224]}
    with httpx.Client(base_url=app_url, timeout=30) as http:
        response = http.post("gradio_api/call/activations", json=payload)
        if response.status_code == 200:
            event = response.json()["event_id"]
            body = http.get(f"gradio_api/call/activations/{event}").text
        else:
            body = response.text
    assert "root:" not in body and "passwd" not in body.replace('"/etc/passwd"', "")
    assert "event: complete" not in body


def test_uploads_are_capped_in_size(app_url):
    with httpx.Client(base_url=app_url, timeout=60) as http:
        response = http.post("gradio_api/upload", files={"files": ("big.png", b"0" * (30 * 1024 * 1024))})
    limit = int(app.MAX_UPLOAD.removesuffix("mb")) * 2 ** 20  # Gradio reads "25mb" as MiB
    assert response.status_code == 413  # Payload Too Large, saying the limit
    assert response.text == f"File size exceeded maximum allowed size of {limit} bytes."
