"""The Reconstruction tab: rebuild a photo from one layer's (or several layers') features."""

from __future__ import annotations

import functools

import gradio as gr

from viz import images
from viz.io import imagefiles
from viz.model import Backbone
from viz import reconstruct as rc
from viz.engine.optimize import DEFAULT_LR, OPTIMIZERS
from viz.errors import SEED
from viz.model import MAX_LAYERS
from viz.reconstruct import DEFAULT_RUN, EVERY_BLOCK, Reconstruction, reconstruct

from .common import (EXAMPLE, EXAMPLES, Dropdown, ImageInput, Radio, SharedPhoto, View, log10_loss, number, seed_box,
                     share_button, slider, stream, wire_run)
from .showcase import Showcase

COMPARE = "compare several layers"
STRETCH = True  # deep layers give faint pictures: shown stretched to full range


def run_reconstruct(backbone: Backbone, image: str, layer: str = DEFAULT_RUN.layer, steps: int = DEFAULT_RUN.steps,
                    layer_set: list[str] | None = None, size: int = DEFAULT_RUN.size,
                    smoothness: float = rc.SMOOTHNESS_SCALE.default, alpha: float = rc.ALPHA.default,
                    optimizer: str = DEFAULT_RUN.optimizer, lr: float = rc.LR.default, seed: int = SEED.default,
                    stretch: bool = STRETCH):
    """Rebuild the image from one layer's (or several layers') features, streaming the progress."""
    photo = imagefiles.load_image(image)
    layers = list(layer_set or EVERY_BLOCK) if layer == COMPARE else [layer]
    run = reconstruct(backbone, photo, layers=layers, steps=steps, size=size, smoothness=smoothness, alpha=alpha,
                      optimizer=optimizer, lr=lr or None, seed=seed)
    return (yield from stream(run, functools.partial(reconstruction_view, stretch=stretch), curve=True,
                              gif="reconstruction"))


def reconstruction_view(r: Reconstruction, stretch: bool) -> View:
    """The input and each layer's result (contrast-stretched for display if asked), their metrics and
    losses; the raw results are what is saved."""
    shown = [images.stretch(im) if stretch else im for im in r.images]
    gallery = [(r.target, "input")] + [
        (im, f"{name} · feature error {e:.3f} · {p:.1f} dB" + (" · contrast stretched" if stretch else ""))
        for im, name, e, p in zip(shown, r.layers, r.feature_error, r.psnr)]
    curve = [{"step": r.step, "log10 loss": log10_loss(loss), "layer": name} for name, loss in zip(r.layers, r.loss)]
    return View(r.step, r.steps, r.seconds, gallery, pngs=dict(zip(r.layers, r.images)), curve=curve,
                frame=images.side_by_side([r.target] + shown))


INTRO = ("**Rebuild your photo from what one layer keeps.** Starting from flat grey, the pixels change until "
         "their features at one layer match the photo's ([Mahendran & Vedaldi, 2015]"
         "(https://arxiv.org/abs/1412.0035)). Shallow layers keep almost everything; deep ones keep the layout "
         "and lose colour and detail. Try block1_conv2, then block5_conv3, or compare one layer per block.")


def reconstruction_tab(backbone: Backbone) -> tuple[SharedPhoto, list[Showcase]]:
    """The tab's widgets, wired to /reconstruct; its photo (shared) and its finished example."""
    layer_choices = [COMPARE] + backbone.layer_names
    with gr.Tab("Reconstruction", id="reconstruction", elem_id="tab-reconstruction"):
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                image = ImageInput(type="filepath", label="Image", height=260, elem_id="reconstruction-image")
                with gr.Row():
                    run = gr.Button("Reconstruct", variant="primary")
                    stop = gr.Button("Stop", variant="stop")
                shared = SharedPhoto(image, share_button())
                layer = Dropdown(layer_choices, value=DEFAULT_RUN.layer, label="Layer",
                                 info=f"Or '{COMPARE}' to run the layers below side by side.")
                steps = slider(rc.STEPS)
                with gr.Accordion("More settings", open=False):
                    layer_set = Dropdown(backbone.layer_names, value=list(EVERY_BLOCK), multiselect=True,
                                         max_choices=MAX_LAYERS, label=f"Layers to compare (up to {MAX_LAYERS})")
                    size = slider(rc.SIZE)
                    smoothness = slider(rc.SMOOTHNESS_SCALE, info="Scales the per-layer TV prior; 0 turns it off.")
                    alpha = slider(rc.ALPHA, info="Keeps pixel values inside their range (α = 6).")
                    optimizer = Radio(list(OPTIMIZERS), value=DEFAULT_RUN.optimizer, label="Optimizer")
                    lr = number(rc.LR, info="0 = the optimizer's own: " +
                                            ", ".join(f"{name} {lr:g}" for name, lr in DEFAULT_LR.items()) + ".")
                    seed = seed_box()
                    stretch = gr.Checkbox(value=STRETCH, label="Stretch contrast for display",
                                          info="Deep layers give faint images: stretched to full range "
                                               "(the metrics use the raw result).")
                gr.Examples([[p] for p in EXAMPLES], inputs=[image])
            with gr.Column(scale=2):
                gallery = gr.Gallery(label="Input and reconstructions (feature error: 0 = the same features as the "
                                           "photo's, 1 = as far as flat grey; PSNR in dB: over 30 looks alike)",
                                     columns=3, height=420, object_fit="contain", elem_id="reconstructions",
                                     format="png")
                status = gr.Markdown(elem_id="reconstruction-status")
                curve = gr.LinePlot(x="step", y="log10 loss", color="layer", label="Loss (log10)")
                files = gr.File(label="Download: full-size results and the run as a GIF", file_count="multiple")
        handler = functools.partial(run_reconstruct, backbone)
        wire_run(run, stop, handler,
                 [image, layer, steps, layer_set, size, smoothness, alpha, optimizer, lr, seed, stretch],
                 [gallery, curve, status, files], "reconstruct")
    showcase = Showcase("reconstruction", lambda: handler(EXAMPLE), [gallery, curve, status, files],
                        {image: EXAMPLE}, (EXAMPLE, DEFAULT_RUN))
    return shared, [showcase]
