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


RED = {700: gr.themes.colors.red.c700, 800: gr.themes.colors.red.c800}  # a theme refers to its own hues only


def theme() -> gr.themes.Base:
    """Gradio's default look, with text and buttons that meet WCAG AA contrast (4.5:1) in light and dark
    mode: hints and placeholders a shade darker, white on the darker orange and red."""
    return gr.themes.Default().set(
        body_text_color_subdued="*neutral_600", input_placeholder_color="*neutral_500",
        block_label_text_color="*neutral_600", block_title_text_color="*neutral_700",
        button_primary_background_fill="*primary_700", button_primary_background_fill_hover="*primary_800",
        button_primary_background_fill_dark="*primary_700", button_primary_background_fill_hover_dark="*primary_800",
        button_cancel_background_fill=RED[700], button_cancel_background_fill_hover=RED[800],
        button_cancel_background_fill_dark=RED[700], button_cancel_background_fill_hover_dark=RED[800],
        button_cancel_text_color="white", button_cancel_text_color_dark="white",
        button_cancel_text_color_hover="white", button_cancel_text_color_hover_dark="white")


def header(backbone: Backbone) -> str:
    """The title and, in plain words, what the page shows and what to do; a warning when the weights
    fell back or are not ImageNet's (on the offline weights, maps follow edges and background)."""
    info = model_info(backbone)
    warning = ""
    if "Fell back" in info["note"]:
        warning = f"\n\n⚠️ {info['note']}"
    if info["weights"] == "hed":
        warning += ("\n\n⚠️ These are offline weights (VGG16's layers trained to find edges, not to name "
                    "objects): the maps light up edges and background, and there are no class names.")
    return (f"# {TITLE}\nWhat a network that names what is in photos (VGG16, trained on ImageNet) sees in yours: "
            f"pick a tab, try its example or drop in your own photo.{warning}")


def details(backbone: Backbone) -> str:
    """What a curious visitor may want to know: the weights in use and the precision the fast paths
    compute in, and why."""
    info = model_info(backbone)
    return (f"**Weights: `{info['weights']}`** · {info['note']}  \n"
            f"**Precision: {info['precision']}**, because {info['precision_reason']}.")


def model_info(backbone: Backbone) -> dict:
    """The model, the weights in use, whether the ImageNet classifier is available, and the precision."""
    return {**backbone.describe(), **fast_precision().describe()}


def build_page(backbone: Backbone, time_limit: float = TIME_LIMIT) -> tuple[gr.Blocks, list[Showcase]]:
    """The whole page (every tab is also a named API endpoint), and each tab's finished example (shown
    at every page load once computed); no run may take longer than `time_limit` seconds (0: no limit)."""
    with gr.Blocks(title=TITLE, delete_cache=(1800, 3600)) as demo:
        gr.Markdown(header(backbone))
        with gr.Accordion("About the model and this machine", open=False):
            gr.Markdown(details(backbone))
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
