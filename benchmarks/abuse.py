"""Hostile requests against `python app.py` in its own process, as a stranger on the internet sends them.

1. Crafted requests over every endpoint, a private event (through Gradio's queue, as the page sends
   it) and the Microscope's links (in headless Chromium): for each, how it was answered (a result or
   a message; never a traceback), its seconds, and the server's peak memory above its level just
   before. Meanwhile a well-behaved user calls /activations every few seconds and checks what comes back.
2. A soak: photos of distinct sizes, one after another; the server's memory after each hundred.
3. A client looping on /activations: the most Gradio's cache folder holds (the app keeps it
   within VIZ_DISK_MB, set low here so that the bound is reached within the loop).

Run: python benchmarks/abuse.py [--soak 200] [--loop-minutes 10] [--disk-mb 100] [--no-browser]
"""

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from load import launched, rss_mb  # noqa: E402

sys.path.insert(0, str(HERE.parent))
from viz.images import fit_for_network  # noqa: E402
from viz.io.imagefiles import load_image  # noqa: E402

ROOT = HERE.parent
CAT = str(ROOT / "examples" / "cat.jpg")
STYLE = str(ROOT / "examples" / "styles" / "swirls.jpg")
BAIT = '<a href="//example.invalid">claim your prize</a>'
MEMORY_BOUND_MB = 300


class Memory:
    """The server's resident memory, sampled every 20 ms; `peak_since(mark)` is the highest since `mark`."""

    def __init__(self, pid: int):
        self.pid, self.samples, self.stop = pid, [], threading.Event()
        threading.Thread(target=self.sample, daemon=True).start()

    def sample(self):
        while not self.stop.is_set():
            self.samples.append((time.monotonic(), rss_mb(self.pid)))
            time.sleep(0.02)

    def now(self) -> float:
        return rss_mb(self.pid)

    def peak_since(self, mark: float) -> float:
        return max((mb for t, mb in self.samples if t >= mark), default=self.now())


def files(folder: Path) -> dict[str, str]:
    """The crafted files: small to send, costly if decoded carelessly, or not what they claim."""
    def save(name, image, **options):
        image.save(folder / name, **options)
        return str(folder / name)

    frames = [Image.new("P", (1000, 1000), color=k % 2) for k in range(300)]
    gif = folder / "frames.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=20)
    (folder / "notes.txt").write_bytes(b"just some text")
    (folder / "cut.jpg").write_bytes(Path(CAT).read_bytes()[:2000])
    (folder / "script.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    photo = Image.open(CAT).convert("RGB")
    ramp = (np.linspace(0, 65535, 200 * 300).reshape(200, 300)).astype(np.uint16)
    return {
        "gif": str(gif), "text": str(folder / "notes.txt"), "truncated": str(folder / "cut.jpg"),
        "svg": str(folder / "script.svg"),
        "bomb": save("bomb.png", Image.new("1", (20000, 20000))),
        "dot": save("dot.png", Image.new("RGB", (1, 1))),
        "strip": save("strip.png", Image.new("RGB", (3000, 20))),
        "16-bit": save("deep.png", Image.fromarray(ramp, "I;16")),
        "cmyk": save("print.jpg", photo.convert("CMYK")),
    }


def cases(f: dict[str, str]):
    """(label, endpoint, arguments, what a right answer looks like: 'result' or a message part)."""
    from gradio_client import handle_file as up

    cat, style = up(CAT), up(STYLE)
    return [
        ("300-frame GIF (541 kB, 1000² frames)", "/activations", [up(f["gif"]), ["block1_conv1"], 8], "result"),
        ("the GIF as the start photo of /visualize", "/visualize",
         [["block3_conv3:5"], 16, 64, "lucid", "photo", up(f["gif"]), 1], "result"),
        ("the GIF as a style image", "/style_transfer", [cat, up(f["gif"]), 0.5, 0, 2, 128, 10], "result"),
        ("decompression bomb (20000² PNG)", "/activations", [up(f["bomb"])], "megapixels"),
        ("bomb as the unit page's photo", "/unit", ["block3_conv3:5", up(f["bomb"])], "megapixels"),
        ("a text file", "/activations", [up(f["text"])], "not an image"),
        ("a truncated JPEG", "/reconstruct", [up(f["truncated"])], "truncated or corrupt"),
        ("an SVG with a script", "/attribution", [up(f["svg"]), "block5_conv3"], "not an image"),
        ("1×1 px", "/activations", [up(f["dot"])], "at least"),
        ("3000×20 px", "/style_transfer", [up(f["strip"]), style], "apart"),
        ("16-bit PNG", "/activations", [up(f["16-bit"]), ["block2_conv1"], 8], "result"),
        ("CMYK JPEG", "/attribution", [up(f["cmyk"]), "block4_conv3:1", ["Grad-CAM"]], "result"),
        ("40 × block5_conv3, top 512", "/activations", [cat, ["block5_conv3"] * 40, 512], "result"),
        ("2000 layers named", "/activations", [cat, ["block1_conv1", "block2_pool"] * 1000, 4], "result"),
        ("a layer without maps", "/activations", [cat, ["fc1"]], "not in the list of choices"),
        ("9 targets", "/visualize", [",".join(f"block1_conv1:{i}" for i in range(9))], "At most 8"),
        ("a 100 000-comma target string", "/visualize", ["," * 100_000 + "block1_conv1:1"], "result"),
        ("custom preset, every knob", "/visualize",
         [["block3_conv3:5"], 16, 64, "custom", "noise", None, 1, 0, "pixels", 0.05, 4, 0.05, 5.0, 0.5, 0.5],
         "result"),
        ("seed 2^70", "/visualize", [["block3_conv3:5"], 16, 64, "lucid", "noise", None, 1, 2 ** 70],
         "Seed must be between"),
        ("seed NaN", "/reconstruct", [cat, "block1_conv1", 10, None, 64, 1.0, 0.0, "lbfgs", 0.0, "NaN"],
         "must be a number"),
        ("steps 10^9", "/reconstruct", [cat, "block1_conv1", 10 ** 9], "greater than maximum"),
        ("output size 10^9", "/style_transfer", [cat, style, 0.5, 0, 2, 10 ** 9], "greater than maximum"),
        ("SmoothGrad, 64 samples", "/attribution", [cat, "block5_conv3", ["SmoothGrad"], "block5_conv3", 0.15, 64],
         "result"),
        ("a link as an attribution target", "/attribution", [cat, BAIT], "Unknown target"),
        ("a link as a unit", "/unit", [BAIT * 5], "Unknown target"),
        ("a link as a layer", "/atlas", [BAIT], "not in the list of choices"),
        ("atlas page 10^12", "/atlas", ["block5_conv3", 10 ** 12], "Page must be between"),
        ("the heaviest activations (448 px, 512 a layer)", "/activations",
         [cat, None, 512, "channel index", "overlay on image", 448], "result"),
    ]


def answer(client, endpoint: str, args: list) -> tuple[str, str]:
    """('result' or 'message', its text) for one request; a traceback or a lost server shows in the text."""
    try:
        job = client.submit(*args, api_name=endpoint)
        out = job.result(timeout=300)
        return "result", json.dumps(out, default=str)[:160]
    except Exception as err:  # noqa: BLE001 - the message is what is measured
        return "message", str(err)[:300]


def server_path(url: str) -> tuple[str, str]:
    """A server path sent where an upload belongs (raw HTTP: a client library would upload its own file)."""
    payload = {"data": [{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}, ["block1_conv1"], 4,
                        "mean activation", "feature maps", 224]}
    with httpx.Client(base_url=url, timeout=30) as http:
        event = http.post("gradio_api/call/activations", json=payload)
        body = event.text if event.status_code != 200 else http.get(
            f"gradio_api/call/activations/{event.json()['event_id']}").text
    leaked = "root:" in body
    return ("result" if leaked else "message"), ("LEAKED " if leaked else "") + body.replace("\n", " ")[-160:]


def private_event(url: str, unit: str) -> tuple[str, str]:
    """The Microscope's private tile-click run (the unit page after a click), sent through Gradio's
    queue as the page sends it: what it streams back."""
    config = httpx.get(url + "config", timeout=30).json()
    pictures = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "unit-pictures")
    private = [d for d in config["dependencies"] if pictures in d["outputs"] and d.get("api_visibility") == "private"]
    dependency = private[0]
    session = uuid.uuid4().hex
    body = {"data": [unit, None], "fn_index": dependency["id"], "session_hash": session, "event_data": None,
            "trigger_id": None}
    joined = httpx.post(url + "gradio_api/queue/join", json=body, timeout=30)
    if joined.status_code != 200:
        return "message", joined.text[:200]
    text = ""
    with httpx.stream("GET", url + f"gradio_api/queue/data?session_hash={session}", timeout=300) as stream:
        for line in stream.iter_lines():
            text += line + "\n"
            if '"msg":"process_completed"' in line.replace(" ", ""):
                break
    kind = "result" if '"success":true' in text.replace(" ", "") else "message"
    return kind, text[-160:].replace("\n", " ")


def links(url: str) -> list[tuple[str, str, str]]:
    """The Microscope's links opened in headless Chromium: (link, what the page showed, verdict)."""
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        for query in [f"?unit={BAIT}", "?layer=block5_conv3&p=abc", "?layer=<b>x</b>", "?unit=block3_conv3:5&p=-1"]:
            page = browser.new_page()
            page.goto(url + query)
            page.wait_for_timeout(8000)
            anchors = page.eval_on_selector_all("a[href*='example.invalid']", "found => found.length")
            shown = page.locator("#unit-about").inner_text() + " | " + page.locator("#atlas-status").inner_text()
            toasts = page.locator(".toast-body").all_inner_texts()
            results.append((query, (shown + " " + " ".join(toasts))[:160].replace("\n", " "),
                            "live link!" if anchors else "no live link"))
            page.close()
        browser.close()
    return results


def polite_user(client, stop: threading.Event, record: list):
    """A visitor beside the crafted requests: /activations on the cat, checked, every few seconds."""
    from gradio_client import handle_file

    h, w = fit_for_network(load_image(CAT), 224).shape[:2]
    expected = f"block2_pool · {h // 4}×{w // 4}×128"
    while not stop.is_set():
        try:
            grids, *_ = client.predict(handle_file(CAT), ["block2_pool"], 4, api_name="/activations")
            record.append("ok" if grids[0]["caption"].startswith(expected) else grids[0]["caption"])
        except Exception as err:  # noqa: BLE001
            record.append(str(err)[:100])
        stop.wait(3)


def soak(client, memory: Memory, count: int, folder: Path):
    """`count` /activations requests, each with a photo of a size of its own: memory after each hundred."""
    from gradio_client import handle_file

    rng = np.random.default_rng(1)
    after = []
    for k in range(count):
        w, h = int(rng.integers(100, 1600)), int(rng.integers(100, 1600))
        if max(w, h) / min(w, h) > 8:
            h = w
        path = folder / "soak.png"
        Image.fromarray((rng.random((h // 16 + 1, w // 16 + 1, 3)) * 255).astype(np.uint8)).resize((w, h)).save(path)
        client.predict(handle_file(str(path)), api_name="/activations")
        if (k + 1) % 100 == 0 or k + 1 == count:
            time.sleep(2)
            after.append((k + 1, memory.now()))
    return after


def disk_loop(client, folder: Path, minutes: float) -> tuple[int, float]:
    """Calls to /activations for `minutes`, and the most Gradio's cache folder held meanwhile (MB)."""
    from gradio_client import handle_file

    end, calls, most = time.monotonic() + 60 * minutes, 0, 0.0
    while time.monotonic() < end:
        client.predict(handle_file(CAT), api_name="/activations")
        calls += 1
        most = max(most, folder_mb(folder))
    return calls, most


def folder_mb(folder: Path) -> float:
    """What the files under `folder` hold, in MB (files deleted meanwhile are not counted)."""
    total = 0
    for path in folder.rglob("*"):
        try:
            total += path.stat().st_size if path.is_file() else 0
        except OSError:
            pass
    return total / 2 ** 20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--soak", type=int, default=200)
    parser.add_argument("--loop-minutes", type=float, default=10)
    parser.add_argument("--disk-mb", type=float, default=100)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    from gradio_client import Client

    work = Path(tempfile.mkdtemp(prefix="abuse-"))
    gradio_cache = work / "gradio"
    env = dict(os.environ, GRADIO_TEMP_DIR=str(gradio_cache), VIZ_DISK_MB=str(args.disk_mb),
               VIZ_ATLAS_DIR=str(work / "atlas"))
    with launched(env) as (server, url):
        client = Client(url, verbose=False)
        memory = Memory(server.pid)
        answer(client, "/activations", [__import__("gradio_client").handle_file(CAT)])  # warm
        print(f"server idle: {memory.now():.0f} MB")
        stop, record = threading.Event(), []
        beside = threading.Thread(target=polite_user, args=(Client(url, verbose=False), stop, record), daemon=True)
        beside.start()
        print(f"{'request':48} {'endpoint':16} {'answer':8} {'s':>6} {'+MB':>6}  ok?  what came back")
        worst, wrong = 0.0, 0
        crafted = cases(files(work)) + [("a server path instead of an upload", "raw HTTP", None, "not in|rror"),
                                        ("a private event: the tile click's unit run", "private", None, "result")]
        for label, endpoint, call, expected in crafted:
            before, mark = memory.now(), time.monotonic()
            special = {"private": lambda: private_event(url, "block3_conv3:7"), "raw HTTP": lambda: server_path(url)}
            kind, text = special[endpoint]() if endpoint in special else answer(client, endpoint, call)
            seconds, grown = time.monotonic() - mark, memory.peak_since(mark) - before
            right = (kind == "result") if expected == "result" else (
                kind == "message" and any(part in text for part in expected.split("|")) and "Traceback" not in text)
            worst, wrong = max(worst, grown), wrong + (not right)
            print(f"{label[:48]:48} {endpoint:16} {kind:8} {seconds:6.1f} {grown:6.0f}  {'yes' if right else 'NO '}"
                  f"  {text[:90]}", flush=True)
        if not args.no_browser:
            for query, shown, verdict in links(url):
                print(f"link {query[:43]:43} {'browser':16} {verdict:14}  {shown[:90]}", flush=True)
        stop.set()
        beside.join(60)
        print(f"\n{len(crafted)} crafted requests: {len(crafted) - wrong} answered rightly; the most any one added "
              f"to the server's memory: {worst:.0f} MB (bound {MEMORY_BOUND_MB}); the polite user beside: "
              f"{record.count('ok')} of {len(record)} calls right; server alive: {server.poll() is None}")
        after = soak(client, memory, args.soak, work)
        print("soak, photos of distinct sizes: " + ", ".join(f"after {n}: {mb:.0f} MB" for n, mb in after)
              + (f"; the last 100 added {after[-1][1] - after[-2][1]:+.0f} MB" if len(after) > 1 else ""))
        calls, most = disk_loop(client, gradio_cache, args.loop_minutes)
        print(f"disk: one client looping {args.loop_minutes:g} min ({calls} calls to /activations): Gradio's cache "
              f"held at most {most:.0f} MB (VIZ_DISK_MB={args.disk_mb:g}); server alive: {server.poll() is None}")


if __name__ == "__main__":
    main()
