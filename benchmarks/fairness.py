"""One client against everyone else: probes of `python app.py` as an outside caller on loopback, each
beside a polite visitor whose answers are timed and checked.

1. 30 joins of a style transfer from one session whose results are never read: how many are taken,
   how many run; meanwhile a second client's /activations (every 2 s) and a /visualize.
2. A 20 MB JSON body: how fast it is refused, the server's memory, /config answering meanwhile.
3. The largest photos allowed (JPEG, 16-bit PNG, PNG with alpha): each endpoint's peak memory, then
   five at once.
4. The time limit (set short here): when the heaviest runs end against it.
5. 20 requests of 8 × 24 MB uploads within 30 s: the most Gradio's upload folder holds (VIZ_DISK_MB).
6. The server's idle memory after a warm-up (every tab's default run once) and after each of two rounds
   of 1–4 (the first compiles and caches what the second meets again: what the second adds would be a leak).

Run: python benchmarks/fairness.py [--disk-mb 1000] [--time-limit 30]
"""

import argparse
import concurrent.futures
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
from abuse import Memory, folder_mb  # noqa: E402
from load import launched  # noqa: E402

ROOT = HERE.parent
CAT = str(ROOT / "examples" / "cat.jpg")
STYLE = str(ROOT / "examples" / "styles" / "swirls.jpg")


class Polite:
    """A visitor beside the probes: /activations every 2 s, each answer's seconds and whether it was right."""

    def __init__(self, url: str):
        from gradio_client import Client

        self.client, self.times, self.wrong, self.stop = Client(url, verbose=False), [], 0, threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        from gradio_client import handle_file

        while not self.stop.is_set():
            start = time.monotonic()
            try:
                grids, *_ = self.client.predict(handle_file(CAT), ["block2_pool"], 4, api_name="/activations")
                self.wrong += not grids[0]["caption"].startswith("block2_pool")
            except Exception:  # noqa: BLE001 - a refusal is what is counted
                self.wrong += 1
            self.times.append(time.monotonic() - start)
            self.stop.wait(2)

    def report(self) -> str:
        self.stop.set()
        self.thread.join(120)
        return f"polite /activations: {len(self.times)} calls, slowest {max(self.times, default=0):.1f} s, {self.wrong} wrong"


def unread_joins(url: str, count: int = 30) -> str:
    """`count` joins of a style transfer from one session, never read; a /visualize beside them."""
    from gradio_client import Client

    config = httpx.get(url + "config", timeout=30).json()
    index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "style_transfer")
    session = uuid.uuid4().hex
    body = {"data": [None, None], "fn_index": index, "session_hash": session, "event_data": None, "trigger_id": None}
    codes = [httpx.post(url + "gradio_api/queue/join", json=body, timeout=30).status_code for _ in range(count)]
    start = time.monotonic()
    job = Client(url, verbose=False).submit(["block3_conv3:5"], 16, 64, api_name="/visualize")
    started = None
    for _ in job:
        started = started or time.monotonic() - start
    return (f"{count} unread joins from one session: {codes.count(200)} taken, {codes.count(429)} refused; a second "
            f"client's /visualize started after {started:.1f} s, ended after {time.monotonic() - start:.1f} s")


def large_body(url: str, memory: Memory) -> str:
    """A 20 MB body: the seconds to its answer, the memory it cost, /config's slowest answer meanwhile."""
    body = b'{"data": [' + b"[]," * 6_990_000 + b"[]]}"
    slowest, done = [0.0], threading.Event()

    def config():
        while not done.is_set():
            start = time.monotonic()
            httpx.get(url + "config", timeout=30)
            slowest[0] = max(slowest[0], time.monotonic() - start)

    watcher = threading.Thread(target=config, daemon=True)
    watcher.start()
    before, mark, start = memory.now(), time.monotonic(), time.monotonic()
    answer = httpx.post(url + "gradio_api/call/activations", content=body, timeout=60,
                        headers={"content-type": "application/json"})
    seconds = time.monotonic() - start
    time.sleep(1)
    done.set()
    watcher.join()
    return (f"a {len(body) / 2 ** 20:.0f} MB body: answered {answer.status_code} in {seconds:.2f} s, "
            f"+{memory.peak_since(mark) - before:.0f} MB at peak, /config at most {slowest[0]:.2f} s meanwhile")


def upload_burst(url: str, folder: Path, requests: int = 20, files: int = 8, mb: int = 24) -> str:
    """`requests` uploads of `files` × `mb` MB within about 30 s: the most the upload folder held."""
    payload = os.urandom(mb * 2 ** 20)
    most, done = [0.0], threading.Event()

    def watch():
        while not done.is_set():
            most[0] = max(most[0], folder_mb(folder))
            time.sleep(0.2)

    def send(k):
        multipart = [("files", (f"{k}-{n}.bin", payload)) for n in range(files)]
        return httpx.post(url + "gradio_api/upload", files=multipart, timeout=120).status_code

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(send, range(requests)))
    done.set()
    watcher.join()
    return (f"{requests} uploads of {files} × {mb} MB: {codes.count(200)} taken, {codes.count(507)} refused; the upload "
            f"folder held at most {most[0]:.0f} MB")


def large_photos(folder: Path) -> dict[str, str]:
    """The largest photos allowed: a 40 MP JPEG, and (held to the raster budget) a 16 MP PNG with alpha
    and a 32 MP 16-bit PNG."""
    Image.new("RGBA", (4800, 3400), (200, 30, 30, 255)).save(folder / "rgba.png")
    rng = np.random.default_rng(0)
    small = (rng.random((400, 600, 3)) * 255).astype(np.uint8)
    Image.fromarray(small).resize((7740, 5160)).save(folder / "photo.jpg", quality=90)
    ramp = np.linspace(0, 65535, 5600 * 5600).reshape(5600, 5600).astype(np.uint16)
    Image.fromarray(ramp).save(folder / "deep.png")
    return {name: str(folder / file) for name, file in
            (("16 MP PNG with alpha", "rgba.png"), ("40 MP JPEG", "photo.jpg"), ("31 MP 16-bit PNG", "deep.png"))}


def photo_costs(url: str, memory: Memory, photos: dict[str, str]) -> list[str]:
    """What each large photo adds to an endpoint's peak memory beyond the same call on the small cat
    (the network's own working memory is the same for both: the photo is fitted first), one at a
    time; then five large-photo requests at once."""
    from gradio_client import Client, handle_file

    client, lines = Client(url, verbose=False), []
    calls = [("/activations", lambda p: [handle_file(p), ["block1_conv1"], 4]),
             ("/attribution", lambda p: [handle_file(p), "block3_conv3", ["gradient"]]),
             ("/dictionary", lambda p: [handle_file(p), "block3_conv3", 0.5, 0.5])]

    def peak(endpoint, args) -> float:
        before, mark = memory.now(), time.monotonic()
        client.predict(*args, api_name=endpoint)
        return memory.peak_since(mark) - before

    own = {endpoint: min(peak(endpoint, args(CAT)) for _ in range(2)) for endpoint, args in calls}
    for name, path in photos.items():
        added = max(peak(endpoint, args(path)) - own[endpoint] for endpoint, args in calls)
        lines.append(f"a {name}: at most +{added:.0f} MB at peak beyond the cat's over {', '.join(own)}")
    before, mark = memory.now(), time.monotonic()
    clients = [Client(url, verbose=False) for _ in range(5)]
    jobs = [c.submit(*calls[k % 2][1](list(photos.values())[k % 3]), api_name=calls[k % 2][0])
            for k, c in enumerate(clients)]
    for job in jobs:
        job.result(timeout=300)
    lines.append(f"five at once: +{memory.peak_since(mark) - before:.0f} MB at peak")
    return lines


def warm_up(url: str) -> None:
    """Every tab's default run once, on the cat: what any server has met after its first visitors."""
    from gradio_client import Client, handle_file

    client, cat = Client(url, verbose=False), handle_file(CAT)
    calls = [("/activations", [cat]), ("/attribution", [cat]), ("/dictionary", [cat]), ("/reconstruct", [cat]),
             ("/visualize", []), ("/style_transfer", [cat, handle_file(STYLE)]), ("/neuron_groups", [cat]),
             ("/activation_grid", [cat]), ("/atlas", [])]
    for endpoint, args in calls:
        client.predict(*args, api_name=endpoint)


def against_the_limit(url: str, limit: float) -> list[str]:
    """The heaviest runs against a short time limit: when each ended."""
    from gradio_client import Client, handle_file

    client, lines = Client(url, verbose=False), []
    runs = [("an uncached atlas page of block5_conv3", "/atlas", ["block5_conv3", 5]),
            ("a 768 px style transfer, 1000 steps", "/style_transfer",
             [handle_file(CAT), handle_file(STYLE), 0.5, 0.0, 2.0, 768, 1000]),
            ("six layers compared, 1000 steps", "/reconstruct",
             [handle_file(CAT), "compare several layers", 1000,
              ["block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3", "block5_pool"], 384])]
    for label, endpoint, args in runs:
        start = time.monotonic()
        *_, last = client.submit(*args, api_name=endpoint)
        status = next((x for x in last if isinstance(x, str) and "time limit" in x), "")
        lines.append(f"{label}: ended {time.monotonic() - start:.1f} s after the click (limit {limit:.0f} s)"
                     + (" · cut" if status else ""))
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disk-mb", type=float, default=1000)
    parser.add_argument("--time-limit", type=float, default=30)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fairness-"))
    env = dict(os.environ, GRADIO_TEMP_DIR=str(work / "gradio"), VIZ_DISK_MB=str(args.disk_mb),
               VIZ_ATLAS_DIR=str(work / "atlas"), VIZ_TIME_LIMIT=str(args.time_limit))
    with launched(env) as (server, url):
        memory = Memory(server.pid)
        started = memory.now()
        warm_up(url)
        time.sleep(10)
        warm = memory.now()
        print(f"server: {started:.0f} MB started, {warm:.0f} MB after every tab's default run once", flush=True)
        polite = Polite(url)
        photos, idle = large_photos(work), []
        for round_ in (1, 2):  # the second round meets every compiled step and cache the first made
            print(f"round {round_}:", flush=True)
            print(unread_joins(url), flush=True)
            print(large_body(url, memory), flush=True)
            for line in photo_costs(url, memory, photos) + against_the_limit(url, args.time_limit):
                print(line, flush=True)
            time.sleep(10)
            idle.append(memory.now())
            print(f"server idle after round {round_}: {idle[-1]:.0f} MB", flush=True)
        print(upload_burst(url, work / "gradio"), flush=True)  # last: it leaves the upload budget full a while
        print(polite.report(), flush=True)
        print(f"server idle: {warm:.0f} MB after the warm-up, {idle[0]:.0f} MB after the first round "
              f"({idle[0] - warm:+.0f} MB: its compiled steps and caches), {idle[1]:.0f} MB after the second "
              f"({idle[1] - warm:+.0f} MB against the warm-up); alive: {server.poll() is None}", flush=True)


if __name__ == "__main__":
    main()
