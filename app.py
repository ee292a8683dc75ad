"""What VGG16 sees and learns: a Gradio app (and API) over the pure functions in `viz`.

Run: python app.py [--weights imagenet|hed|PATH] [--share]

This file is the command line and the launch; the page is built in `ui.page`.
"""

from __future__ import annotations

import argparse
import os
import sys

import gradio as gr
from starlette.middleware import Middleware

from ui.files import keep_cache_small, pictures_written_once
from ui.guard import Guard
from ui.fill import fill_in_background
from ui.links import BACK_BUTTON
from ui.page import build_page, theme
from ui.photos import ROOT
from ui.widgets import CSS
from ui.showcase import Store, incomplete
from viz.atlas import next_missing
from viz.io import cache
from viz.io.weights import WeightsError, load_backbone, resolve_source
from viz.precision import fast_precision
from viz.runtime import configure_runtime, settle_memory

MAX_UPLOAD = "25mb"
QUEUE_SIZE = int(os.environ.get("VIZ_QUEUE_SIZE", 24))


def parse_args(argv=None) -> argparse.Namespace:
    """The command line: which weights, and whether to ask for a share link."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None,
                        help="imagenet (default; falls back to hed offline), hed, or a path to a VGG16 "
                             "weights file. Also read from $VIZ_WEIGHTS.")
    parser.add_argument("--share", action="store_true", help="Ask Gradio for a public share link.")
    return parser.parse_args(argv)


def launch(demo: gr.Blocks, share: bool = False, block: bool = True, **kwargs) -> gr.Blocks:
    """Serve the app (GRADIO_SERVER_NAME/PORT apply); say plainly when a share link is not made."""
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
    keep_cache_small()
    pictures_written_once()
    # ssr_mode/run_history off: mitigation for the gradio 6.31 advisory (CVE-2026-134825).
    demo.launch(share=share, ssr_mode=False, run_history=False, show_error=False, max_file_size=MAX_UPLOAD,
                prevent_thread_lock=True, allowed_paths=[str(ROOT / "examples"), str(Store().folder)],
                app_kwargs={"middleware": [Middleware(Guard, blocks=demo)]}, theme=theme(), js=BACK_BUTTON, css=CSS,
                **kwargs)
    settle_memory()
    if share and not demo.share_url:
        print("No share link could be created (is this machine offline?); the app is only "
              f"served locally at {demo.local_url}", file=sys.stderr, flush=True)
    if block:
        demo.block_thread()
    return demo


def main(argv=None) -> None:
    """Load the weights and serve the app until interrupted."""
    configure_runtime()
    args = parse_args(argv)
    try:
        backbone = load_backbone(resolve_source(args.weights))
    except WeightsError as err:
        sys.exit(f"error: {err}")
    print(f"VGG16 weights: {backbone.source}. {backbone.note}", flush=True)
    print(f"Precision: {fast_precision().name}, because {fast_precision().reason}.", flush=True)
    print(f"Microscope: {cache.fetch_shared_cache(cache.TileCache())}", flush=True)
    demo, showcases = build_page(backbone)
    if incomplete(backbone, showcases, Store()) or next_missing(backbone, cache.TileCache()):
        fill_in_background(args.weights)  # the first visit's results, patches and atlas, at the lowest priority
    launch(demo, share=args.share)


if __name__ == "__main__":
    main()
