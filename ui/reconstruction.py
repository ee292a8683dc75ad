"""The Reconstruction tab: rebuild a photo from one layer's (or several layers') features."""

from __future__ import annotations

import functools

import gradio as gr

from viz import images
from viz import reconstruct as rc
from viz.engine.optimize import DEFAULT_LR, OPTIMIZERS
from viz.io import imagefiles
from viz.model import MAX_LAYERS, Backbone
from viz.reconstruct import DEFAULT_RUN, EVERY_BLOCK, Reconstruction

from .files import GIF_SIDE
from .photos import EXAMPLE, EXAMPLES, SharedPhoto, share_button
from .runs import wire_run
from .showcase import example_of
from .streaming import Outputs, View, log10_loss, streamed
from .tab import Page, Tab
from .widgets import Dropdown, ImageInput, Radio, number, result_gallery, seed_box, slider

COMPARE = "compare several layers"
OUTPUTS = Outputs(shown=1, curve=True, files=True, gif="reconstruction")
INTRO = ("**Rebuild your photo from what one layer keeps.** Starting from flat grey, the pixels change until "
         "their features at one layer match the photo's ([Mahendran & Vedaldi, 2015]"
         "(https://arxiv.org/abs/1412.0035)). Shallow layers keep almost everything; deep ones keep the layout "
         "and lose colour and detail. Try block1_conv2, then block5_conv3, or compare one layer per block.")


def show_reconstruction(backbone: Backbone, values: dict):
    """Rebuild the image from one layer's (or several layers') features, a View per snapshot."""
    layers = list(values["layer_set"] or EVERY_BLOCK) if values["layer"] == COMPARE else [values["layer"]]
    run = rc.ReconstructionRun.of(values, layers=layers)
    for state in rc.reconstruct(backbone, imagefiles.load_image(values["image"]), run):
        yield reconstruction_view(state, values["stretch"])


def reconstruction_view(r: Reconstruction, stretch: bool) -> View:
    """The input and each layer's result (contrast-stretched for display if asked), their metrics and
    losses; the raw results are what is saved."""
    shown = [images.stretch(im) if stretch else im for im in r.images]
    gallery = [(r.target, "input")] + [
        (im, f"{name} · feature error {e:.3f} · {p:.1f} dB" + (" · contrast stretched" if stretch else ""))
        for im, name, e, p in zip(shown, r.layers, r.feature_error, r.psnr)]
    curve = [{"step": r.step, "log10 loss": log10_loss(loss), "layer": name} for name, loss in zip(r.layers, r.loss)]
    strip = images.side_by_side([r.target] + shown)  # the GIF's frame: a strip of panels, kept light
    return View(r.step, r.steps, r.seconds, (gallery,), pngs=dict(zip(r.layers, r.images)), curve=curve,
                frame=images.fit_long_side(strip, min(max(strip.shape[:2]), 2 * GIF_SIDE)))


def settings_widgets(backbone: Backbone) -> dict:
    """The tab's settings by the names its handler and its API know them by, in the API's order."""
    form = {}
    form["layer"] = Dropdown([COMPARE] + backbone.layer_names, value=DEFAULT_RUN.layers[0], label="Layer",
                             info=f"Or '{COMPARE}' to run the layers below side by side.")
    form["steps"] = slider(rc.STEPS)
    with gr.Accordion("More settings", open=False):
        form["layer_set"] = Dropdown(backbone.layer_names, value=list(EVERY_BLOCK), multiselect=True,
                                     max_choices=MAX_LAYERS, label=f"Layers to compare (up to {MAX_LAYERS})")
        form["size"] = slider(rc.SIZE)
        form["smoothness"] = slider(rc.SMOOTHNESS_SCALE, info="Scales the per-layer TV prior; 0 turns it off.")
        form["alpha"] = slider(rc.ALPHA, info="Keeps pixel values inside their range (α = 6).")
        form["optimizer"] = Radio(list(OPTIMIZERS), value=DEFAULT_RUN.optimizer, label="Optimizer")
        form["lr"] = number(rc.LR, info="0 = the optimizer's own: " +
                                        ", ".join(f"{name} {lr:g}" for name, lr in DEFAULT_LR.items()) + ".")
        form["seed"] = seed_box()
        form["stretch"] = gr.Checkbox(value=True, label="Stretch contrast for display",
                                      info="Deep layers give faint images: stretched to full range "
                                           "(the metrics use the raw result).")
    return form


def result_widgets() -> list:
    """Where the run shows: the gallery, the loss curve, the status line, the files."""
    return [result_gallery(label="Input and reconstructions (feature error: 0 = the same features as the photo's, "
                                 "1 = as far as flat grey; PSNR in dB: over 30 looks alike)", columns=3, height=420,
                           object_fit="contain", elem_id="reconstructions"),
            gr.LinePlot(x="step", y="log10 loss", color="layer", label="Loss (log10)"),
            gr.Markdown(elem_id="reconstruction-status"),
            gr.File(label="Download: full-size results and the run as a GIF", file_count="multiple",
                    interactive=False)]


def build(page: Page) -> Tab:
    """The tab, wired to /reconstruct: its photo (shared) and its finished example."""
    with gr.Tab("Reconstruction", id="reconstruction", elem_id="tab-reconstruction"):
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                photo = ImageInput(type="filepath", label="Image", height=260, elem_id="reconstruction-image")
                with gr.Row():
                    run, stop = gr.Button("Reconstruct", variant="primary"), gr.Button("Stop", variant="stop")
                share = share_button()
                form = {"image": photo, **settings_widgets(page.backbone)}
                gr.Examples([[p] for p in EXAMPLES], inputs=[form["image"]])
            with gr.Column(scale=2):
                outputs = result_widgets()
    handler = streamed(functools.partial(show_reconstruction, page.backbone), OUTPUTS, page.time_limit)
    wire_run(run, stop, handler, form, outputs, "reconstruct")
    return Tab(SharedPhoto(photo, share, outputs),
               [example_of("reconstruction", handler, form, outputs, {"image": EXAMPLE})])
