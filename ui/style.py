"""The Style transfer tab: Gatys style transfer and the per-layer style study."""

from __future__ import annotations

import functools

import gradio as gr

from viz import images
from viz.io import imagefiles
from viz import style as st
from viz.errors import SEED
from viz.model import MAX_LAYERS, Backbone, conv_layers

from .showcase import Showcase
from .common import (ROOT, Dropdown, ImageInput, Radio, SharedPhoto, View, log10_loss, seed_box, share_button, slider,
                     stream, wire_run)

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
                       style_strength: float = st.STYLE_STRENGTH.default,
                       content_strength: float = st.CONTENT_STRENGTH.default,
                       smoothness: float = st.SMOOTHNESS.default, size: int = st.DEFAULT_RUN.size,
                       steps: int = st.DEFAULT_RUN.steps, start: str = st.DEFAULT_RUN.start,
                       keep_colors: bool = st.DEFAULT_RUN.keep_colors, style_scale: float = st.STYLE_SCALE.default,
                       seed: int = SEED.default, mode: str = MODES[0], layers: list[str] | None = None):
    """Gatys style transfer (or the per-layer study), streaming the image and the loss terms.

    style_strength and content_strength are log10 of the weights."""
    content_photo, style_photo = imagefiles.load_image(content), imagefiles.load_image(style)
    if mode == MODES[1]:
        run = st.style_per_layer(backbone, content_photo, style_photo, layers=layers or list(st.STYLE_LAYERS),
                                 size=min(int(size), st.PER_LAYER_SIZE.high), steps=steps, start=start, seed=seed)
    else:
        run = st.style_transfer(backbone, content_photo, style_photo, style_weight=10.0 ** style_strength,
                                content_weight=10.0 ** content_strength, tv_weight=smoothness, size=size,
                                steps=steps, start=start, keep_colors=keep_colors, style_scale=style_scale,
                                seed=seed)
    return (yield from stream(run, functools.partial(style_view, per_layer=mode == MODES[1]), curve=True, gif="run"))


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


INTRO = ("**Paint your photo in the manner of another picture.** The result keeps the content photo's layout "
         "(its block5_conv2 features) and takes on the style picture's textures (the correlations between "
         "channels, or Gram matrices, of block1–5_conv1), after [Gatys, Ecker & Bethge, 2016]"
         "(https://arxiv.org/abs/1508.06576). Try an example pair, then *style per layer* to see what each "
         "layer's textures are.")


def style_tab(backbone: Backbone) -> tuple[SharedPhoto, list[Showcase]]:
    """The tab's widgets, wired to /style_transfer; its content photo (shared) and its finished example."""
    with gr.Tab("Style transfer", id="style", elem_id="tab-style"):
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                with gr.Row():
                    content = ImageInput(type="filepath", label="Content", height=200, elem_id="style-content")
                    style = ImageInput(type="filepath", label="Style", height=200)
                with gr.Row():
                    run = gr.Button("Stylize", variant="primary")
                    stop = gr.Button("Stop", variant="stop")
                shared = SharedPhoto(content, share_button())
                gr.Examples(STYLE_PAIRS, inputs=[content, style], label="Example pairs")
                mode = Radio(list(MODES), value=MODES[0], label="Mode")
                style_strength = slider(st.STYLE_STRENGTH)
                steps = slider(st.STEPS, info="More steps or a larger size take longer; Stop keeps the latest image.")
                size = slider(st.SIZE, info=f"Style per layer: at most {st.PER_LAYER_SIZE.high} px.")
                with gr.Accordion("More settings", open=False):
                    content_strength = slider(st.CONTENT_STRENGTH)
                    smoothness = slider(st.SMOOTHNESS,
                                        info="Per pixel, against style and content errors that are relative.")
                    start = Radio(list(st.STARTS), value=st.DEFAULT_RUN.start, label="Start from")
                    keep_colors = gr.Checkbox(value=st.DEFAULT_RUN.keep_colors,
                                              label="Keep the content's colours (luminance only)")
                    style_scale = slider(st.STYLE_SCALE, info="The style image's size relative to the output.")
                    seed = seed_box()
                    layers = Dropdown(conv_layers(backbone), value=list(st.STYLE_LAYERS), multiselect=True,
                                      max_choices=MAX_LAYERS,
                                      label=f"Layers for 'style per layer' (up to {MAX_LAYERS})")
            with gr.Column(scale=2):
                gallery = gr.Gallery(label="Result", columns=1, height=520, object_fit="contain", elem_id="stylized",
                                     format="png")
                status = gr.Markdown(elem_id="style-status")
                gr.Markdown("*The terms: style, how far the textures are from the style picture's; content, how far "
                            "the layout is from the photo's (each relative to its target: 1 = as far as a blank "
                            "picture); tv, how much neighbouring pixels differ.*")
                curve = gr.LinePlot(x="step", y="log10 loss", color="term", label="Loss terms (log10)",
                                    color_map=TERM_COLOURS, caption=CURVE_CAPTION, elem_id="style-curve")
                files = gr.File(label="Download: full-size result and the run as a GIF", file_count="multiple")
        handler = functools.partial(run_style_transfer, backbone)
        wire_run(run, stop, handler,
                 [content, style, style_strength, content_strength, smoothness, size, steps, start, keep_colors,
                  style_scale, seed, mode, layers], [gallery, curve, status, files], "style_transfer")
    pair = [str(ROOT / name) for name in STYLE_PAIRS[0]]
    showcase = Showcase("style", lambda: handler(*pair), [gallery, curve, status, files],
                        {content: pair[0], style: pair[1]}, (*pair, st.DEFAULT_RUN, st.DEFAULT_WEIGHTS))
    return shared, [showcase]
