"""The whole atlas, filled while the server is idle: how fast it fills, what it costs a visitor, and
whether a restarted server goes on where it stopped.

It starts `python app.py` (offline weights) on a cache folder; the server's background process
computes the first visit's results, scans the photos, then draws the atlas (`viz.atlas.fill_atlas`).
Then, by counting the tiles in the cache:
1. a visitor's default /reconstruct of a held-out photo, three times while the fill runs (it is paused
   during each run) and three times after the fill process is stopped: the median of each and their ratio;
2. the server stopped and started again on the same folder: the tiles it had, and that it goes on;
3. with --until LAYER, the minutes until every layer up to LAYER in the fill order is complete.

Run: python benchmarks/idle_fill.py [--cache DIR] [--until block4_conv3] [--deadline 3600]
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from load import launched  # noqa: E402
from viz import atlas  # noqa: E402
from viz.io.cache import TileCache  # noqa: E402
from viz.io.weights import load_backbone  # noqa: E402
from viz.runtime import configure_runtime  # noqa: E402

PHOTO = Path(__import__("matplotlib").get_data_path()) / "sample_data" / "grace_hopper.jpg"  # held out


def tiles_ready(backbone, cache) -> dict[str, int]:
    return {layer: done for layer, (done, _) in atlas.ready(backbone, cache).items()}


def wait_for_the_atlas_fill(backbone, cache, deadline: float) -> None:
    """Until the background process draws tiles beyond the first visit's page (its showcases and the
    photo scan come first)."""
    start = sum(tiles_ready(backbone, cache).values())
    while sum(tiles_ready(backbone, cache).values()) < max(start, 64) + atlas.BATCH:
        if time.monotonic() > deadline:
            raise SystemExit("the fill did not reach the atlas in time")
        time.sleep(5)


def fill_processes(server: subprocess.Popen) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(server.pid), "-f", "ui.fill"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def visitor_runs(url: str, count: int = 3, idle: float = 8.0) -> list[float]:
    """A visitor's default reconstruction, `count` times, `idle` seconds apart (the fill resumes between)."""
    from gradio_client import Client, handle_file

    client, seconds = Client(url, verbose=False), []
    for _ in range(count):
        time.sleep(idle)
        begin = time.perf_counter()
        client.predict(handle_file(str(PHOTO)), api_name="/reconstruct")
        seconds.append(time.perf_counter() - begin)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=None, help="the cache folder (default: a fresh one)")
    parser.add_argument("--until", default=None, help="wait until this layer (and those filled before it) is ready")
    parser.add_argument("--deadline", type=float, default=3600.0, help="seconds this benchmark may take")
    args = parser.parse_args()
    configure_runtime()
    backbone, deadline = load_backbone("hed"), time.monotonic() + args.deadline
    folder = args.cache or tempfile.mkdtemp(prefix="idle-fill-")
    cache, env = TileCache(folder), dict(os.environ, VIZ_ATLAS_DIR=folder)
    print(f"cache: {folder}; tiles ready at start: {sum(tiles_ready(backbone, cache).values())}", flush=True)
    with launched(env) as (server, url):
        wait_for_the_atlas_fill(backbone, cache, deadline)
        before, begin = sum(tiles_ready(backbone, cache).values()), time.monotonic()
        while_filling = visitor_runs(url)
        made = sum(tiles_ready(backbone, cache).values()) - before
        print(f"1. /reconstruct while the atlas fills: {', '.join(f'{s:.2f}' for s in while_filling)} s "
              f"({made} tiles made in the {time.monotonic() - begin:.0f} s meanwhile)", flush=True)
        for pid in fill_processes(server):
            os.kill(pid, signal.SIGKILL)
        alone = visitor_runs(url)
        ratio = statistics.median(while_filling) / statistics.median(alone)
        print(f"   /reconstruct with the fill stopped: {', '.join(f'{s:.2f}' for s in alone)} s; "
              f"median ratio {ratio:.3f} ({(ratio - 1) * 100:+.1f} %)", flush=True)
    stopped = tiles_ready(backbone, cache)
    with launched(env):
        begin = time.monotonic()
        while sum(tiles_ready(backbone, cache).values()) <= sum(stopped.values()) + atlas.BATCH:
            if time.monotonic() > deadline:
                raise SystemExit("the restarted server did not go on in time")
            time.sleep(5)
        print(f"2. restarted with {sum(stopped.values())} tiles ready: {atlas.BATCH} more after "
              f"{time.monotonic() - begin:.0f} s, none lost: "
              f"{all(tiles_ready(backbone, cache)[k] >= v for k, v in stopped.items())}", flush=True)
        if args.until:
            order = atlas.fill_order(backbone)
            layers = order[:order.index(args.until) + 1]
            marks, start = {}, time.monotonic()
            while len(marks) < len(layers) and time.monotonic() < deadline:
                found = atlas.ready(backbone, cache)
                for layer in layers:
                    if layer not in marks and found[layer][0] == found[layer][1]:
                        marks[layer] = time.monotonic() - start
                        print(f"3. {layer} complete ({found[layer][1]} tiles) after {marks[layer] / 60:.1f} min "
                              f"of idle fill", flush=True)
                time.sleep(10)
    print("tiles ready at the end:", {k: v for k, v in tiles_ready(backbone, cache).items() if v})


if __name__ == "__main__":
    main()
