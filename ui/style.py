"""The Style transfer tab: Gatys style transfer and the per-layer style study."""

from __future__ import annotations

import functools
import math

import gradio as gr

from viz import images
from viz import style as st
from viz.model import Backbone, conv_layers

from .common import Dropdown, ImageInput, Number, ROOT, Radio, Slider, View, log10_loss, stream, wire_run

STYLES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples" / "styles").glob("*.jpg"))
STYLE_PAIRS = [["examples/cat.jpg", "examples/styles/swirls.jpg"],
               ["examples/astronaut.jpg", "examples/styles/mosaic.jpg"],
               ["examples/coffee.jpg", "examples/styles/circles.jpg"]]
MODES = ("style transfer", "style per layer")
GIF_SIDE = 384  # px: the GIF of a run stays light whatever the output size
TERM_COLOURS = {"style": "#7c3aed", "content": "#0ea5e9", "tv": "#f97316"}
CURVE_CAPTION = ("Style transfer runs coarse to fine: ¼ size, then ½, then full size. Where a finer stage begins, "
                 "style and content jump up: its upsampled image lacks the fine detail the network now sees.")


def run_style_transfer(backbone: Backbone, content: str, style: str,
                       style_strength: float = math.log10(st.DEFAULT_WEIGHTS.style),
                       content_strength: float = math.log10(st.DEFAULT_WEIGHTS.content),
                       smoothness: float = st.DEFAULT_WEIGHTS.tv, size: int = st.DEFAULT_RUN.size,
                       steps: int = st.DEFAULT_RUN.steps,
                       start: str = "content", keep_colors: bool = False, style_scale: float = 1.0, seed: int = 0,
                       mode: str = MODES[0], layers: list[str] | None = None):
    """Gatys style transfer (or the per-layer study), streaming the image and the loss terms.

    style_strength and content_strength are log10 of the weights."""
    content_photo, style_photo = images.load_image(content), images.load_image(style)
    if mode == MODES[1]:
        run = st.style_per_layer(backbone, content_photo, style_photo, layers=layers or list(st.STYLE_LAYERS),
                                 size=min(int(size), st.MAX_SIDE // 2), steps=steps, start=start, seed=seed)
    else:
        run = st.style_transfer(backbone, content_photo, style_photo, style_weight=10.0 ** style_strength,
                                content_weight=10.0 ** content_strength, tv_weight=smoothness, size=size,
                                steps=steps, start=start, keep_colors=keep_colors, style_scale=style_scale,
                                seed=seed)
    yield from stream(run, functools.partial(style_view, per_layer=mode == MODES[1]), curve=True, gif="run")


def style_view(s: st.Stylized, per_layer: bool) -> View:
    """The picture(s) with their loss terms; per layer, each panel is saved under its layer's name."""
    terms = " · ".join(f"{k} {v:.3g}" for k, v in s.losses.items())
    frame = images.side_by_side(s.images) if len(s.images) > 1 else s.images[0]
    pngs = {cap if per_layer else "stylized": im for im, cap in zip(s.images, s.captions)}
    size = "" if per_layer else f" · {s.captions[0]}"  # coarse to fine: the stage's size
    return View(s.step, s.steps, s.seconds, list(zip(s.images, s.captions)), pngs=pngs, note=size + " · " + terms,
                curve=curve_rows(s), frame=images.fit_long_side(frame, GIF_SIDE))


def curve_rows(s: st.Stylized) -> list[dict]:
    """The loss terms as curve points (one series per term: Gradio's plot keeps the series it first
    saw, so a series per coarse-to-fine stage never showed; the status line names the stage's size)."""
    return [{"step": s.step, "log10 loss": log10_loss(v), "term": k} for k, v in s.losses.items()]


def style_tab(backbone: Backbone) -> None:
    """The tab's widgets, wired to /style_transfer."""
    with gr.Tab("Style transfer", id="style", elem_id="tab-style"):
        gr.Markdown("Neural style transfer (Gatys, Ecker & Bethge, 2016): keep the content photo's layout "
                    "(block5_conv2 features) and take on the style image's textures (Gram matrices of "
                    "block1–5_conv1). *Style per layer* shows what matching one layer's Gram matrix does.")
        with gr.Row():
            with gr.Column(scale=1):
                with gr.Row():
                    content = ImageInput(type="filepath", label="Content", height=200, elem_id="style-content")
                    style = ImageInput(type="filepath", label="Style", height=200)
                gr.Examples(STYLE_PAIRS, inputs=[content, style], label="Example pairs")
                mode = Radio(list(MODES), value=MODES[0], label="Mode")
                style_strength = Slider(-4, 4, value=math.log10(st.DEFAULT_WEIGHTS.style), step=0.25,
                                        label="Style strength (log10 of the weight)")
                steps = Slider(10, st.MAX_STEPS, value=st.DEFAULT_RUN.steps, step=10, label="Steps",
                               info="More steps or a larger size take longer; Stop keeps the latest image.")
                size = Slider(128, st.MAX_SIDE, value=st.DEFAULT_RUN.size, step=32,
                              label="Output size (long side, px)")
                with gr.Accordion("More settings", open=False):
                    content_strength = Slider(-4, 4, value=math.log10(st.DEFAULT_WEIGHTS.content), step=0.25,
                                              label="Content strength (log10)")
                    smoothness = Slider(0, 50, value=st.DEFAULT_WEIGHTS.tv, step=0.5, label="Smoothness (TV weight)",
                                        info="Per pixel, against style and content errors that are relative.")
                    start = Radio(list(st.STARTS), value="content", label="Start from")
                    keep_colors = gr.Checkbox(value=False, label="Keep the content's colours (luminance only)")
                    style_scale = Slider(0.25, 2.0, value=1.0, step=0.05, label="Style scale",
                                         info="The style image's size relative to the output.")
                    seed = Number(value=0, precision=0, minimum=0, label="Seed")
                    layers = Dropdown(conv_layers(backbone), value=list(st.STYLE_LAYERS), multiselect=True,
                                         max_choices=6, label="Layers for 'style per layer'")
                with gr.Row():
                    run = gr.Button("Stylize", variant="primary")
                    stop = gr.Button("Stop", variant="stop")
            with gr.Column(scale=2):
                gallery = gr.Gallery(label="Result", columns=1, height=520, object_fit="contain", elem_id="stylized",
                                     format="png")
                status = gr.Markdown(elem_id="style-status")
                curve = gr.LinePlot(x="step", y="log10 loss", color="term", label="Loss terms (log10)",
                                    color_map=TERM_COLOURS, caption=CURVE_CAPTION, elem_id="style-curve")
                files = gr.File(label="Download: full-size result and the run as a GIF", file_count="multiple")
        wire_run(run, stop, functools.partial(run_style_transfer, backbone),
                 [content, style, style_strength, content_strength, smoothness, size, steps, start, keep_colors,
                  style_scale, seed, mode, layers], [gallery, curve, status, files], "style_transfer")
