"""Latency as a visitor meets it: every endpoint with its tab's defaults, through gradio_client,
against `python app.py` in a subprocess, from the click to the first image and to the last.

Photos are held out from the repository's examples (matplotlib's sample photo and a crop of it), so
nothing is tuned on them. An optimizing endpoint is called twice: first in a fresh server (its step
is compiled then), then again, as the next visitor with the same settings meets it (the compiled
steps are reused). Where an older default can still be asked for through the API (more steps), it
runs in the same process after ours and the ratio to our first call is printed beside it.

Run: python benchmarks/latency.py [--weights hed] [--only visualize] [--browser]
"""

import argparse
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import matplotlib.cbook
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from load import free_port, wait_for  # noqa: E402

sys.path.insert(0, str(HERE.parent))
from viz.style import DEFAULT_WEIGHTS  # noqa: E402

ROOT = HERE.parent
STYLE = str(ROOT / "examples" / "styles" / "swirls.jpg")
BLOCK4_CHANNELS = [f"block4_conv3:{c}" for c in (12, 42, 97, 150, 211, 300, 377, 480)]


def held_out_photos(folder: Path) -> list[str]:
    """Grace Hopper (matplotlib's sample photo) whole, and a landscape crop of it."""
    source = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    with Image.open(source) as im:
        whole, crop = folder / "hopper.jpg", folder / "hopper-crop.jpg"
        im.save(whole, quality=95)
        im.crop((0, 150, im.width, 150 + im.width * 2 // 3)).save(crop, quality=95)
    return [str(whole), str(crop)]


def cases(photo: str, only: str | None):
    """(label, endpoint, positional arguments, older-default arguments or None)."""
    from gradio_client import handle_file

    image = handle_file(photo)
    table = [
        ("activations, every conv layer", "/activations", [image], None),
        ("attribution, 4 methods", "/attribution", [image], None),
        ("reconstruct block3_conv3 (default)", "/reconstruct", [image], None),
        ("reconstruct block1_conv2", "/reconstruct", [image, "block1_conv2"], [image, "block1_conv2", 300]),
        ("visualize, the tab's targets", "/visualize", [], None),
        ("visualize, 8 channels of block4_conv3", "/visualize", [BLOCK4_CHANNELS], [BLOCK4_CHANNELS, 256]),
        ("style transfer", "/style_transfer", [image, handle_file(STYLE)],
         [image, handle_file(STYLE), math.log10(DEFAULT_WEIGHTS.style), math.log10(DEFAULT_WEIGHTS.content),
          DEFAULT_WEIGHTS.tv, 384, 200]),
    ]
    return [case for case in table if only is None or only in case[1]]


def timed(client, endpoint: str, args: list) -> dict:
    """Seconds to the first update that carries an image and to the last; the last update itself."""
    start = time.perf_counter()
    job = client.submit(*args, api_name=endpoint)
    first, last = None, None
    for update in job:
        last = update
        if first is None and has_image(update):
            first = time.perf_counter() - start
    if last is None:  # a function endpoint answers once
        last = job.result()
    total = time.perf_counter() - start
    return {"first": first or total, "total": total, "result": last}


def in_browser(url: str, photo: str, repeats: int = 3) -> list[float]:
    """Seconds from a click on "Show activations" to every grid drawn, in headless Chromium: what a
    visitor of the page waits for. (gradio_client fetches each returned file over a new connection,
    about 20 ms apiece, which a browser does not pay.)"""
    from playwright.sync_api import sync_playwright

    drawn = """old => { const shown = [...document.querySelectorAll('#activation-grids img')];
        return shown.length >= 13 && shown.every(i => i.complete && i.naturalWidth > 0 && !old.includes(i.src)); }"""
    seconds = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.locator("#activations-image input[type=file]").set_input_files(photo)
        page.locator("#activations-image img").wait_for()
        for _ in range(repeats + 1):  # the first click warms the server's models
            old = page.eval_on_selector_all("#activation-grids img", "shown => shown.map(i => i.src)")
            start = time.perf_counter()
            page.locator("#tab-activations").get_by_role("button", name="Show activations").click()
            page.wait_for_function(drawn, arg=old, polling=10, timeout=30_000)
            seconds.append(time.perf_counter() - start)
        browser.close()
    return seconds[1:]


def has_image(update) -> bool:
    gallery = update[0] if isinstance(update, (list, tuple)) else update
    return bool(gallery)


def quality(result) -> str:
    """The figures a visitor reads: the status line, or the first captions."""
    if isinstance(result, (list, tuple)):
        status = [x for x in result if isinstance(x, str) and x.startswith("**Step")]
        captions = [g.get("caption", "") for g in (result[0] or []) if isinstance(g, dict)]
        return (status[0] + " · " if status else "") + " | ".join(c for c in captions[:3] if c)
    return ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="hed")
    parser.add_argument("--only", default=None, help="endpoint name part, e.g. visualize")
    parser.add_argument("--browser", action="store_true", help="also time /activations in headless Chromium")
    args = parser.parse_args()
    from gradio_client import Client

    port = free_port()
    env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
               GRADIO_ANALYTICS_ENABLED="False", VIZ_TIME_LIMIT="600")
    server = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--weights", args.weights], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"latency-{port}"
    folder.mkdir(exist_ok=True)
    try:
        wait_for(url, server)
        client = Client(url, verbose=False)
        photo = held_out_photos(folder)[1]
        print(f"{'case':42} {'first':>7} {'total':>7}   again: first, total   older default: total, ratio")
        for label, endpoint, call, older in cases(photo, args.only):
            forward = endpoint in ("/activations", "/attribution")
            if forward:
                timed(client, endpoint, call)  # warm: a forward endpoint's first call builds its models
            ours = timed(client, endpoint, call)
            line = f"{label:42} {ours['first']:6.1f}s {ours['total']:6.1f}s"
            if not forward:
                again = timed(client, endpoint, call)
                line += f"   {again['first']:6.2f}s {again['total']:6.1f}s"
            if older is not None:
                before = timed(client, endpoint, older)
                line += f"   {before['total']:6.1f}s, {before['total'] / ours['total']:.1f}×"
            print(line, flush=True)
            print(f"    {quality(ours['result'])[:220]}", flush=True)
            if endpoint == "/activations" and args.browser:
                times = in_browser(url, photo)
                print(f"{'activations in Chromium, click to drawn':42} {min(times):6.2f}s {max(times):6.2f}s"
                      "   (fastest, slowest of 3)", flush=True)
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
