"""The Style transfer tab: Gatys style transfer and the per-layer style study."""

from __future__ import annotations

import functools

import gradio as gr

from viz import images
from viz import style as st
from viz.io import imagefiles
from viz.model import MAX_LAYERS, Backbone, conv_layers

from .files import GIF_SIDE
from .photos import ROOT, SharedPhoto, share_button
from .runs import wire_run
from .showcase import example_of
from .streaming import Outputs, View, log10_loss, streamed
from .tab import Page, Tab
from .widgets import Dropdown, ImageInput, Radio, result_gallery, seed_box, slider

STYLES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples" / "styles").glob("*.jpg"))
STYLE_PAIRS = [["examples/cat.jpg", "examples/styles/swirls.jpg"],
               ["examples/astronaut.jpg", "examples/styles/mosaic.jpg"],
               ["examples/coffee.jpg", "examples/styles/circles.jpg"]]
MODES = ("style transfer", "style per layer")
OUTPUTS = Outputs(shown=1, curve=True, files=True, gif="run")
TERM_COLOURS = {"style": "#7c3aed", "content": "#0ea5e9", "tv": "#f97316"}
CURVE_CAPTION = ("Style transfer runs coarse to fine: ¼ size, then ½, then full size. Where a finer stage begins, "
                 "style and content jump up: its upsampled image lacks the fine detail the network now sees.")
INTRO = ("**Paint your photo in the manner of another picture.** The result keeps the content photo's layout "
         "(its block5_conv2 features) and takes on the style picture's textures (the correlations between "
         "channels, or Gram matrices, of block1–5_conv1), after [Gatys, Ecker & Bethge, 2016]"
         "(https://arxiv.org/abs/1508.06576). Try an example pair, then *style per layer* to see what each "
         "layer's textures are.")


def show_style(backbone: Backbone, values: dict):
    """Gatys style transfer (or the per-layer study), a View per snapshot with the loss terms."""
    content, style = imagefiles.load_image(values["content"]), imagefiles.load_image(values["style"])
    per_layer = values["mode"] == MODES[1]
    if per_layer:
        run = st.TransferRun.of(values, size=min(int(values["size"]), st.PER_LAYER_SIZE.high))
        states = st.style_per_layer(backbone, content, style, run, values["layers"] or list(st.STYLE_LAYERS))
    else:
        states = st.style_transfer(backbone, content, style, st.TransferRun.of(values))
    for state in states:
        yield style_view(state, per_layer)


def style_view(s: st.Stylized, per_layer: bool) -> View:
    """The picture(s) with their loss terms; per layer, each panel is saved under its layer's name."""
    terms = " · ".join(f"{k} {v:.3g}" for k, v in s.losses.items())
    frame = images.side_by_side(s.images) if len(s.images) > 1 else s.images[0]
    pngs = {cap if per_layer else "stylized": im for im, cap in zip(s.images, s.captions)}
    size = "" if per_layer else f" · {s.captions[0]}"  # coarse to fine: the stage's size
    return View(s.step, s.steps, s.seconds, (list(zip(s.images, s.captions)),), pngs=pngs, note=size + " · " + terms,
                curve=curve_rows(s), frame=images.fit_long_side(frame, GIF_SIDE))


def curve_rows(s: st.Stylized) -> list[dict]:
    """The loss terms as curve points (one series per term: Gradio's plot keeps the series it first
    saw, so a series per coarse-to-fine stage never showed; the status line names the stage's size)."""
    return [{"step": s.step, "log10 loss": log10_loss(v), "term": k} for k, v in s.losses.items()]


def settings_widgets(backbone: Backbone) -> dict:
    """The tab's settings by the names its handler and its API know them by, in the API's order."""
    mode = Radio(list(MODES), value=MODES[0], label="Mode")
    form = {"style_strength": slider(st.STYLE_STRENGTH),
            "steps": slider(st.STEPS, info="More steps or a larger size take longer; Stop keeps the latest image."),
            "size": slider(st.SIZE, info=f"Style per layer: at most {st.PER_LAYER_SIZE.high} px.")}
    with gr.Accordion("More settings", open=False):
        form["content_strength"] = slider(st.CONTENT_STRENGTH)
        form["smoothness"] = slider(st.SMOOTHNESS, info="Per pixel, against style and content errors that are relative.")
        form["start"] = Radio(list(st.STARTS), value=st.DEFAULT_RUN.start, label="Start from")
        form["keep_colors"] = gr.Checkbox(value=st.DEFAULT_RUN.keep_colors,
                                          label="Keep the content's colours (luminance only)")
        form["style_scale"] = slider(st.STYLE_SCALE, info="The style image's size relative to the output.")
        form["seed"] = seed_box()
        form["layers"] = Dropdown(conv_layers(backbone), value=list(st.STYLE_LAYERS), multiselect=True,
                                  max_choices=MAX_LAYERS, label=f"Layers for 'style per layer' (up to {MAX_LAYERS})")
    order = ("style_strength", "content_strength", "smoothness", "size", "steps", "start", "keep_colors",
             "style_scale", "seed")
    return {name: form[name] for name in order} | {"mode": mode, "layers": form["layers"]}


def results() -> list:
    """Where the run shows: the picture, the loss terms' curve, the status line, the files."""
    gallery = result_gallery(label="Result", columns=1, height=520, object_fit="contain", elem_id="stylized")
    status = gr.Markdown(elem_id="style-status")
    gr.Markdown("*The terms: style, how far the textures are from the style picture's; content, how far the layout "
                "is from the photo's (each relative to its target: 1 = as far as a blank picture); tv, how much "
                "neighbouring pixels differ.*")
    curve = gr.LinePlot(x="step", y="log10 loss", color="term", label="Loss terms (log10)", color_map=TERM_COLOURS,
                        caption=CURVE_CAPTION, elem_id="style-curve")
    return [gallery, curve, status, gr.File(label="Download: full-size result and the run as a GIF",
                                            file_count="multiple", interactive=False)]


def build(page: Page) -> Tab:
    """The tab, wired to /style_transfer: its content photo (shared) and its finished example."""
    with gr.Tab("Style transfer", id="style", elem_id="tab-style"):
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                with gr.Row():
                    photos = {"content": ImageInput(type="filepath", label="Content", height=200,
                                                    elem_id="style-content"),
                              "style": ImageInput(type="filepath", label="Style", height=200)}
                with gr.Row():
                    run, stop = gr.Button("Stylize", variant="primary"), gr.Button("Stop", variant="stop")
                share = share_button()
                gr.Examples(STYLE_PAIRS, inputs=list(photos.values()), label="Example pairs")
                form = photos | settings_widgets(page.backbone)
            with gr.Column(scale=2):
                outputs = results()
    handler = streamed(functools.partial(show_style, page.backbone), OUTPUTS, page.time_limit)
    wire_run(run, stop, handler, form, outputs, "style_transfer")
    pair = dict(zip(photos, (str(ROOT / name) for name in STYLE_PAIRS[0])))
    return Tab(SharedPhoto(photos["content"], share, outputs), [example_of("style", handler, form, outputs, pair)])
