"""Latency as a visitor meets it: every endpoint with its tab's defaults, through gradio_client,
against `python app.py` in a subprocess, from the click to the first image and to the last.

Photos are held out from the repository's examples (matplotlib's sample photo and a crop of it), so
nothing is tuned on them. An optimizing endpoint is called twice: first in a fresh server (its step
is compiled then), then again, as the next visitor with the same settings meets it (the compiled
steps are reused). With --compare, a second server runs every case with the precision forced the
other way (float32 where bfloat16 was chosen, and vice versa) under the app's own time limit, and
the ratio of its times to ours is printed beside them.

CPU classes: `--cpu avx2` runs the server as a CPU without AVX-512 would: oneDNN capped at its AVX2
kernels (ONEDNN_MAX_CPU_ISA=AVX2: the float32 code an AVX2 host runs; the precision chooser then
picks float32). oneDNN refuses bfloat16 under that cap instead of being slow, so the forced-bfloat16
comparison on that class runs with oneDNN off (TF_ENABLE_ONEDNN_OPTS=0), as an AVX2 host runs
bfloat16: through TensorFlow's own emulated kernels.

Run: python benchmarks/latency.py [--weights hed] [--cpu native|avx2] [--compare] [--only visualize]
                                  [--browser]
"""

import argparse
import os
import sys
import time
from pathlib import Path

import matplotlib.cbook
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from load import launched  # noqa: E402

sys.path.insert(0, str(HERE.parent))
from viz.precision import NATIVE_CPU_FLAGS, cpu_flags  # noqa: E402

ROOT = HERE.parent
STYLE = str(ROOT / "examples" / "styles" / "swirls.jpg")
BLOCK4_CHANNELS = [f"block4_conv3:{c}" for c in (12, 42, 97, 150, 211, 300, 377, 480)]
ADDED_METHODS = ("LayerCAM", "Score-CAM", "IG (black)", "IG (blur)", "Occlusion", "RISE")
AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2"}


def held_out_photos(folder: Path) -> list[str]:
    """Grace Hopper (matplotlib's sample photo) whole, and a landscape crop of it."""
    source = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    with Image.open(source) as im:
        whole, crop = folder / "hopper.jpg", folder / "hopper-crop.jpg"
        im.save(whole, quality=95)
        im.crop((0, 150, im.width, 150 + im.width * 2 // 3)).save(crop, quality=95)
    return [str(whole), str(crop)]


def cases(photos: list[str], only: str | None):
    """(label, endpoint, positional arguments): each tab's defaults on the landscape photo, and three
    runs beside them (the style default on the whole, taller photo: more pixels at the same long side)."""
    from gradio_client import handle_file

    image, whole = handle_file(photos[1]), handle_file(photos[0])
    table = [
        ("activations, every conv layer", "/activations", [image]),
        ("attribution, 4 methods, and their faithfulness", "/attribution", [image]),
        *[(f"attribution, {method} alone", "/attribution", [image, "block5_conv3", [method]])
          for method in ADDED_METHODS],
        ("sanity, 4 methods", "/sanity", [image]),
        ("channels that carry the evidence", "/channels", [image]),
        ("reconstruct (default: block3_conv3)", "/reconstruct", [image]),
        ("reconstruct block1_conv2", "/reconstruct", [image, "block1_conv2"]),
        ("visualize (default targets)", "/visualize", []),
        ("visualize, 8 channels of block4_conv3", "/visualize", [BLOCK4_CHANNELS]),
        ("style transfer (default)", "/style_transfer", [image, handle_file(STYLE)]),
        ("style transfer, the whole (portrait) photo", "/style_transfer", [whole, handle_file(STYLE)]),
        ("neuron groups (default: 6 at block5_conv3)", "/neuron_groups", [image]),
        ("activation grid (default: 8 cells)", "/activation_grid", [image]),
        ("semantic dictionary of a place", "/dictionary", [image, "block5_conv3", 0.5, 0.4]),
    ]
    return [case for case in table if only is None or any(part in case[1] for part in only.split(","))]


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


def server_env(cpu: str, forced: str | None, time_limit: str) -> dict:
    """The environment of a server of this CPU class, its precision forced or chosen by the machine."""
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", VIZ_TIME_LIMIT=time_limit)
    if cpu == "avx2":
        env.update(AVX2)
        if forced == "bfloat16":  # oneDNN refuses bfloat16 under the AVX2 cap; an AVX2 host emulates it
            env["TF_ENABLE_ONEDNN_OPTS"] = "0"
    if forced:
        env["VIZ_PRECISION"] = forced
    return env


def measure(args, env: dict, photos: list[str], again: bool) -> tuple[dict, dict]:
    """Every case against a fresh `python app.py` in `env`: its /model_info and, by label, the
    timings (and, for optimizing endpoints when `again`, a second call's)."""
    from gradio_client import Client

    results = {}
    with launched(env, args.weights) as (_, url):
        client = Client(url, verbose=False)
        info = client.predict(api_name="/model_info")
        for label, endpoint, call in cases(photos, args.only):
            forward = endpoint in ("/activations", "/attribution")
            if forward:
                timed(client, endpoint, call)  # warm: a forward endpoint's first call builds its models
            results[label] = {"first": timed(client, endpoint, call)}
            if again and not forward:
                results[label]["again"] = timed(client, endpoint, call)
            if endpoint == "/activations" and args.browser:
                results[label]["browser"] = in_browser(url, photos[1])
    return info, results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="hed")
    parser.add_argument("--cpu", choices=("native", "avx2"), default="native",
                        help="avx2: run as a CPU without AVX-512 (and so without native bfloat16) would")
    parser.add_argument("--compare", action="store_true", help="also run with the precision forced the other way")
    parser.add_argument("--only", default=None, help="endpoint name parts, comma-separated, e.g. visualize,style")
    parser.add_argument("--browser", action="store_true", help="also time /activations in headless Chromium")
    args = parser.parse_args()
    flags = sorted(cpu_flags() & {"avx2", "fma", "avx512f", *NATIVE_CPU_FLAGS})
    print(f"CPU flags that matter: {' '.join(flags) or 'none'}; {os.cpu_count()} cores; "
          f"run as: {'an AVX2 CPU (ONEDNN_MAX_CPU_ISA=AVX2)' if args.cpu == 'avx2' else 'this CPU'}")
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"latency-{os.getpid()}"
    folder.mkdir(exist_ok=True)
    photos = held_out_photos(folder)
    info, ours = measure(args, server_env(args.cpu, None, "600"), photos, again=True)
    print(f"precision: {info['precision']}, because {info['precision_reason']}")
    other = None
    if args.compare:
        forced = "float32" if info["precision"] == "bfloat16" else "bfloat16"
        _, other = measure(args, server_env(args.cpu, forced, os.environ.get("VIZ_TIME_LIMIT", "150")), photos,
                           again=False)
    print(f"{'case':40} {'first':>7} {'end':>7}   again: first, end"
          + (f"   {forced} forced: first, end (× ours)" if other else ""))
    for label, endpoint, _ in cases(photos, args.only):
        mine = ours[label]
        line = f"{label:40} {mine['first']['first']:6.2f}s {mine['first']['total']:6.1f}s"
        if "again" in mine:
            line += f"   {mine['again']['first']:6.2f}s {mine['again']['total']:6.1f}s"
        else:
            line += " " * 20
        if other:
            theirs = other[label]["first"]
            line += (f"   {theirs['first']:6.2f}s {theirs['total']:6.1f}s "
                     f"({theirs['first'] / mine['first']['first']:.1f}×, {theirs['total'] / mine['first']['total']:.1f}×)")
        print(line, flush=True)
        print(f"    {quality(mine['first']['result'])[:220]}", flush=True)
        if other:
            print(f"    forced: {quality(other[label]['first']['result'])[:200]}", flush=True)
        if "browser" in mine:
            times = mine["browser"]
            print(f"{'activations in Chromium, click to drawn':40} {min(times):6.2f}s {max(times):6.2f}s"
                  "   (fastest, slowest of 3)", flush=True)


if __name__ == "__main__":
    main()
