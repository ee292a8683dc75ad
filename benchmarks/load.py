"""Load test: N concurrent gradio_client users against a local launch, over a mix of the endpoints.

It starts the app in a subprocess on 127.0.0.1 (offline weights), then each user runs a fixed
number of small jobs, cycling through activations, attribution, reconstruct, visualize and
style_transfer. Every user sends a photo of its own size, and asks /visualize for a channel of its
own (named in the gallery's caption) at a size that differs from its neighbours', so what comes back
shows whether anyone ever received another user's images. It stops by itself (job count and a deadline) and
reports completed, refused (queue full), failed, latency percentiles, and the server's memory:
before, at its peak, and after each round of load.

Run: python benchmarks/load.py [--users 16] [--jobs 3] [--queue 24] [--deadline 900] [--rounds 1]
"""

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from viz.images import fit_for_network  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def user_photo(folder: Path, user: int) -> tuple[str, tuple[int, int]]:
    """A photo whose size is this user's alone (so results can be traced back to their owner, as far as
    the few sizes the network sees tell them apart)."""
    width, height = 130 + 37 * user, 120
    rng = np.random.default_rng(user)
    pixels = (rng.random((height // 8, width // 8, 3)) * 255).astype(np.uint8)
    path = folder / f"user{user}.png"
    Image.fromarray(pixels).resize((width, height), Image.Resampling.BICUBIC).save(path)
    return str(path), (height, width)


def expected_shape(size: tuple[int, int], side: int) -> tuple[int, int]:
    """The size the app gives a photo of `size` at long side `side` (few shapes: neighbours may share one)."""
    return fit_for_network(np.zeros(size + (3,), np.uint8), side).shape[:2]


def image_shape(path: str) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.height, im.width


def visualize_request(user: int) -> tuple[str, int]:
    """This user's own channel and an image side unlike its neighbours', so an answer names its owner."""
    return f"block3_conv3:{user}", 64 + 16 * (user % 4)


def one_job(client, kind: str, photo: str, size: tuple[int, int], style: str, index: int):
    """Run one small job for user `index`; return None if what came back is this user's, else what was wrong."""
    from gradio_client import handle_file

    if kind == "activations":
        grids, *_ = client.predict(image=handle_file(photo), layers=["block3_conv1"], top=16, api_name="/activations")
        h, w = expected_shape(size, 224)
        got = grids[0]["caption"].split(" · ")[1].split("×")[:2]
        return None if got == [str(h // 4), str(w // 4)] else f"activations shape {got} for {(h, w)}"
    if kind == "attribution":
        maps = client.predict(image=handle_file(photo), target="block4_conv1", methods=["Grad-CAM"],
                              api_name="/attribution")
        got, want = image_shape(maps[0]["image"]), expected_shape(size, 224)
        return None if got[1] == want[1] and got[0] > want[0] else f"attribution {got} for {want}"
    if kind == "reconstruct":
        gallery, *_ = client.submit(image=handle_file(photo), layer="block2_conv1", steps=20, size=96,
                                    api_name="/reconstruct").result()
        got, want = image_shape(gallery[0]["image"]), expected_shape(size, 96)
        return None if got == want else f"reconstruct input {got} for {want}"
    if kind == "visualize":
        target, side = visualize_request(index)
        gallery, *_ = client.submit(targets=target, steps=16, size=side, api_name="/visualize").result()
        got, named = image_shape(gallery[0]["image"]), gallery[0]["caption"].split(" · ")[0]
        return None if (got, named) == ((side, side), target) else f"visualize {named} {got} for {target} {side}"
    gallery, *_ = client.submit(content=handle_file(photo), style=handle_file(style), size=128, steps=10,
                                api_name="/style_transfer").result()
    got, want = image_shape(gallery[0]["image"]), expected_shape(size, 128)
    return None if got == want else f"style {got} for {want}"


KINDS = ("activations", "attribution", "reconstruct", "visualize", "style_transfer")


def user(index, url, jobs, deadline, folder, style, results, lock):
    from gradio_client import Client

    client = Client(url, verbose=False)
    photo, size = user_photo(folder, index)
    for j in range(jobs):
        if time.monotonic() > deadline:
            return
        kind = KINDS[(index + j) % len(KINDS)]
        start = time.monotonic()
        try:
            problem = one_job(client, kind, photo, size, style, index)
            outcome = "completed" if problem is None else "mixed up"
        except Exception as err:  # noqa: BLE001 - a load test counts every kind of failure
            text = str(err)
            outcome = "refused" if "queue is full" in text.lower() else "failed"
            problem = text[:200]
        with lock:
            results.append((kind, outcome, time.monotonic() - start, problem))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--queue", type=int, default=24)
    parser.add_argument("--deadline", type=float, default=900, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the load: memory after each round "
                        "shows whether it settles once warm or keeps growing")
    args = parser.parse_args()
    with launched(dict(os.environ, VIZ_QUEUE_SIZE=str(args.queue))) as (server, url):
        baseline = rss_mb(server.pid)
        peak, stop = [baseline], threading.Event()
        threading.Thread(target=lambda: sample(server.pid, peak, stop), daemon=True).start()
        folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"load-{server.pid}"
        folder.mkdir(exist_ok=True)
        style = str(ROOT / "examples" / "styles" / "mosaic.jpg")
        for round_ in range(1, args.rounds + 1):
            results, wall = run_round(args, url, folder, style)
            time.sleep(10)  # let the last responses finish and the server go idle
            print(f"round {round_} of {args.rounds}:")
            report(results, args, wall, baseline, max(peak), rss_mb(server.pid))
        stop.set()


def run_round(args, url, folder, style):
    """All users at once, each running its jobs; returns their results and the wall time."""
    results, lock = [], threading.Lock()
    deadline = time.monotonic() + args.deadline
    start = time.monotonic()
    threads = [threading.Thread(target=user, args=(i, url, args.jobs, deadline, folder, style, results, lock))
               for i in range(args.users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(1.0, deadline - time.monotonic() + 60))
    return results, time.monotonic() - start


@contextlib.contextmanager
def launched(env: dict, weights: str = "hed"):
    """`python app.py` on a free loopback port, in `env`: yields (its process, its URL) once it serves,
    and stops it after."""
    port = free_port()
    env = dict(env, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False")
    server = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--weights", weights], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(url, server)
        yield server, url
    finally:
        server.terminate()
        server.wait(30)


def wait_for(url: str, server, timeout: float = 120):
    import httpx

    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if server.poll() is not None:
            raise SystemExit("the app exited before serving")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise SystemExit("the app did not start in time")


def sample(pid: int, peak: list, stop: threading.Event):
    while not stop.is_set():
        peak.append(rss_mb(pid))
        time.sleep(0.2)


def report(results, args, wall, baseline, peak, after):
    outcomes = [r[1] for r in results]
    latencies = sorted(r[2] for r in results if r[1] == "completed")
    print(f"{args.users} users × {args.jobs} jobs (queue size {args.queue}) in {wall:.0f} s")
    for name in ("completed", "refused", "failed", "mixed up"):
        print(f"  {name:<10}{outcomes.count(name):>4}")
    if latencies:
        p = np.percentile(latencies, [50, 90, 99])
        print(f"  latency   p50 {p[0]:.1f} s · p90 {p[1]:.1f} s · p99 {p[2]:.1f} s · max {latencies[-1]:.1f} s")
    for kind in KINDS:
        times = [r[2] for r in results if r[0] == kind and r[1] == "completed"]
        if times:
            print(f"    {kind:<15}{len(times):>3} done, median {np.median(times):.1f} s")
    print(f"  server memory: {baseline:.0f} MB before any load, {peak:.0f} MB at peak so far, {after:.0f} MB after")
    for kind, outcome, _, problem in results:
        if outcome in ("failed", "mixed up"):
            print(f"  ! {kind}: {outcome}: {problem}")


if __name__ == "__main__":
    main()
