"""What VGG16 sees and learns: a Gradio app (and API) over the pure functions in `viz`.

Run: python app.py [--weights imagenet|hed|PATH] [--share]

This file is the page: its header, the tabs in order (each in `ui/`), and the server's settings.
"""

from __future__ import annotations

import argparse
import os
import sys

import gradio as gr

from ui.activations import activations_tab
from ui.blocks import blocks_tab
from ui.common import ROOT, keep_cache_small, share_photos
from ui.microscope import microscope_tab
from ui.reconstruction import reconstruction_tab
from ui.showcase import Showcase, Store, fill_in_background, incomplete, wire_showcases
from ui.style import style_tab
from ui.visualization import visualization_tab
from viz.io import atlas
from viz.model import Backbone
from viz.io.weights import WeightsError, load_backbone, resolve_source
from viz.precision import fast_precision
from viz.runtime import configure_runtime

TITLE = "What does VGG16 see?"
MAX_UPLOAD = "25mb"
QUEUE_SIZE = int(os.environ.get("VIZ_QUEUE_SIZE", 24))


def header(backbone: Backbone) -> str:
    """The title, what the app shows, which weights are in use (with a warning after a fallback) and
    the precision the fast paths compute in, and why."""
    info = model_info(backbone)
    kind = "⚠️ " if "Fell back" in info["note"] else ""
    return (f"# {TITLE}\nFeature maps, reconstructions, class pictures and style transfer on VGG16.\n\n"
            f"{kind}**Weights: `{info['weights']}`** · {info['note']}  \n"
            f"**Precision: {info['precision']}**, because {info['precision_reason']}.")


def model_info(backbone: Backbone) -> dict:
    """The model, the weights in use, whether the ImageNet classifier is available, and the precision."""
    return {**backbone.describe(), **fast_precision().describe()}


# ---------------------------------------------------------------- the page

def build_app(backbone: Backbone) -> gr.Blocks:
    """The whole page; every tab is also a named API endpoint."""
    return build_parts(backbone)[0]


def build_parts(backbone: Backbone) -> tuple[gr.Blocks, list[Showcase]]:
    """The page, and each tab's finished example (shown at every page load once computed)."""
    with gr.Blocks(title=TITLE, delete_cache=(1800, 3600)) as demo:
        gr.Markdown(header(backbone))
        with gr.Tabs() as tabs:
            picker, activations_photo, showcases = activations_tab(backbone)
            parts = [blocks_tab(backbone), reconstruction_tab(backbone), visualization_tab(backbone),
                     style_tab(backbone), microscope_tab(backbone, tabs, demo, picker)]
        share_photos([activations_photo] + [photo for photo, _ in parts])
        showcases += [showcase for _, found in parts for showcase in found]
        wire_showcases(demo, backbone, showcases, Store())

        def describe() -> dict:
            """The model, the weights in use, whether the ImageNet classifier is available, and the precision."""
            return model_info(backbone)

        gr.api(describe, api_name="model_info")
    return demo, showcases


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
    # ssr_mode/run_history off: mitigation for the gradio 6.31 advisory (CVE-2026-134825).
    demo.launch(share=share, ssr_mode=False, run_history=False, show_error=False, max_file_size=MAX_UPLOAD,
                prevent_thread_lock=True, allowed_paths=[str(ROOT / "examples"), str(Store().folder)], **kwargs)
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
    print(f"Microscope: {atlas.fetch_shared_cache(atlas.TileCache())}", flush=True)
    demo, showcases = build_parts(backbone)
    if incomplete(backbone, showcases, Store()):
        fill_in_background(args.weights)  # the first visit's results and patches, at the lowest priority
    launch(demo, share=args.share)


if __name__ == "__main__":
    main()
