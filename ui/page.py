"""The page: its header, the tabs in order, what links them (one photo for every tab, clicks that open
a unit in the Microscope, the first visit's results) and /model_info. Every tab is one module whose
`build(page) -> Tab` is listed in TABS (the contract: `ui.tab`)."""

from __future__ import annotations

import os

import gradio as gr

from viz.model import Backbone
from viz.precision import fast_precision

from . import activations, attribution, blocks, microscope, reconstruction, style, visualization
from .photos import share_photos
from .showcase import Showcase, Store, wire_showcases
from .tab import Page, Tab

TITLE = "What does VGG16 see?"
TABS = [activations.build, attribution.build, blocks.build, reconstruction.build, visualization.build, style.build,
        microscope.build]
# A run on a shared 2-vCPU Space stops after this many seconds (0: no limit), keeping what it made.
TIME_LIMIT = float(os.environ.get("VIZ_TIME_LIMIT", 150))


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


def build_page(backbone: Backbone, time_limit: float = TIME_LIMIT) -> tuple[gr.Blocks, list[Showcase]]:
    """The whole page (every tab is also a named API endpoint), and each tab's finished example (shown
    at every page load once computed); no run may take longer than `time_limit` seconds (0: no limit)."""
    with gr.Blocks(title=TITLE, delete_cache=(1800, 3600)) as demo:
        gr.Markdown(header(backbone))
        with gr.Tabs() as tabs:
            page = Page(backbone, time_limit, demo, tabs)
            built = [build(page) for build in TABS]
        link(built)
        showcases = [showcase for tab in built for showcase in tab.showcases]
        wire_showcases(demo, backbone, showcases, Store())

        def describe() -> dict:
            """The model, the weights in use, whether the ImageNet classifier is available, and the precision."""
            return model_info(backbone)

        gr.api(describe, api_name="model_info")
    return demo, showcases


def link(built: list[Tab]) -> None:
    """What ties the tabs together: one photo offered to every tab, and every picture of channels
    opening its units in whichever tab opens units."""
    share_photos([tab.photo for tab in built if tab.photo])
    for opener in (tab.open_unit for tab in built if tab.open_unit):
        for source in (source for tab in built for source in tab.unit_sources):
            opener(source)
