"""What VGG16 sees and learns: a Gradio app (and API) over the pure functions in `viz`.

Run: python app.py [--weights imagenet|hed|PATH] [--share]
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import gc
import inspect
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import gradio as gr
import pandas as pd

from viz import images
from viz import attribution as attr
from viz.activations import ORDERS, VIEWS, activations
from viz.errors import InputError
from viz.model import Backbone, WeightsError, conv_layers, load_backbone, pool_layers, resolve_source
from viz.model import imagenet_labels
from viz.reconstruct import EVERY_BLOCK, MAX_SIDE, MAX_STEPS, reconstruct
from viz import style as st
from viz import visualize as vis

HERE = Path(__file__).parent
EXAMPLES = sorted(str(p.relative_to(HERE)) for p in (HERE / "examples").glob("*.jpg"))
TITLE = "What does VGG16 see?"
MAX_UPLOAD = "25mb"
COMPARE = "compare several layers"
OPTIMIZE = dict(concurrency_id="optimize", concurrency_limit=1, show_progress="minimal")
FORWARD = dict(concurrency_id="forward", concurrency_limit=2)
# A run on a shared 2-vCPU Space stops after this many seconds (0: no limit), keeping what it made.
TIME_LIMIT = float(os.environ.get("VIZ_TIME_LIMIT", 150))
LIBC = ctypes.CDLL(None) if os.name == "posix" else None  # the C library; malloc_trim is glibc only
QUEUE_SIZE = int(os.environ.get("VIZ_QUEUE_SIZE", 24))


def user_errors(fn):
    """Turn the InputErrors of `fn` (a function or a generator) into messages for the person."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def stream(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except InputError as err:
                raise gr.Error(str(err), print_exception=False) from None
        return stream

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InputError as err:
            raise gr.Error(str(err), print_exception=False) from None
    return call


class ImageInput(gr.Image):
    """An image upload passed on as its file path; files Gradio cannot open are passed on too, so
    that `images.load_image` can say what is wrong with them."""

    is_template = True  # drawn by Gradio's own Image component

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except Exception:
            return getattr(payload, "path", None)


def wire(button: gr.Button, fn, inputs: list, outputs: list, api_name: str, **options):
    """Connect a button to a viz-backed handler whose InputErrors become messages for people.

    (Gradio's `validator` would refuse bad images before the queue, but it turns a bad parameter
    into a bare HTTP 400 for API clients, losing the message; so every check runs in the job.)"""
    return button.click(user_errors(fn), inputs=inputs, outputs=outputs, api_name=api_name, **options)


def time_limited(run):
    """Yield from a streaming run until TIME_LIMIT seconds have passed, then close it; however it
    ends (done, limit, Stop, disconnect), hand the memory it used back to the system."""
    start = time.monotonic()
    try:
        for item in run:
            yield item
            if TIME_LIMIT and time.monotonic() - start > TIME_LIMIT:
                return
    finally:
        run.close()
        give_back_memory()


def give_back_memory() -> None:
    """Collect the run's reference cycles (TensorFlow graphs) and return glibc's free heap to the OS:
    without it a long-running server's memory crept up by megabytes per run (benchmarks/load.py)."""
    gc.collect()
    if hasattr(LIBC, "malloc_trim"):
        LIBC.malloc_trim(0)


def status_line(step: int, steps: int, seconds: float) -> str:
    """The progress line every streaming tab shows."""
    return f"**Step {step} / {steps}** · {seconds:.0f} s"


def log10_loss(value: float) -> float:
    """A loss as a point of a log-scale curve (zero clamped)."""
    return math.log10(max(value, 1e-12))


def ending(step: int, steps: int) -> str:
    """How a streamed run ended, for its status line."""
    if step >= steps:
        return " · done"
    return f" · stopped early (converged, or the {TIME_LIMIT:.0f} s limit per run)"


class Slider(gr.Slider):
    """A Gradio slider whose wrong-type values (from API callers) get a clear message."""

    is_template = True

    def preprocess(self, payload):
        return super().preprocess(as_number(payload, self.label))


class Number(gr.Number):
    """A Gradio number box whose wrong-type values (from API callers) get a clear message."""

    is_template = True

    def preprocess(self, payload):
        return super().preprocess(None if payload is None else as_number(payload, self.label))


def as_number(value, label) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{label} must be a number, not {value!r}.", print_exception=False) from None


def header(backbone: Backbone) -> str:
    info = backbone.describe()
    kind = "⚠️ " if "Fell back" in info["note"] else ""
    return (f"# {TITLE}\nFeature maps, reconstructions, class pictures and style transfer on VGG16.\n\n"
            f"{kind}**Weights: `{info['weights']}`** · {info['note']}")


# ---------------------------------------------------------------- Activations

def run_activations(backbone: Backbone, image: str, layers: list[str] | None = None, top: int = 64,
                    order: str = ORDERS[0], view: str = VIEWS[0], resolution: int = 224):
    """Feature maps of each layer, the block5 heat map, and (with the classifier) the top-5 classes."""
    photo = images.fit_long_side(images.load_image(image), int(resolution))
    result = activations(backbone, photo, layers or None, int(top), order, view)
    top5 = {label: p for label, p in result.top5} if result.top5 else None
    return result.grids, result.heatmap, top5, result.fc2


def activations_tab(backbone: Backbone) -> None:
    layer_choices = [n for n in backbone.layer_names if n in conv_layers(backbone) + pool_layers(backbone)]
    with gr.Tab("Activations", elem_id="tab-activations"):
        with gr.Row():
            with gr.Column(scale=1):
                image = ImageInput(type="filepath", label="Image", height=300, elem_id="activations-image")
                layers = gr.Dropdown(layer_choices, value=conv_layers(backbone), multiselect=True,
                                     label="Layers", info="Every conv layer by default; pooling layers too.")
                top = Slider(1, 512, value=64, step=1, label="Channels per layer",
                                info="The top N by the order below (64 = an 8×8 grid, 512 = all).")
                order = gr.Radio(list(ORDERS), value=ORDERS[0], label="Order channels by")
                view = gr.Radio(list(VIEWS), value=VIEWS[0], label="View",
                                info="Overlay lays each map over the greyscale photo: where does it fire?")
                resolution = Slider(128, 448, value=224, step=16, label="Resolution (long side, px)")
                run = gr.Button("Show activations", variant="primary")
                gr.Examples([[p] for p in EXAMPLES], inputs=[image])
            with gr.Column(scale=2):
                grids = gr.Gallery(label="Feature maps, one grid per layer", columns=3, height=620, elem_id="activation-grids",
                                   object_fit="contain", format="png")
                with gr.Row():
                    heat = gr.Image(label="What block 5 responds to (sum of block5_conv3)", height=260)
                    top5 = gr.Label(num_top_classes=5, label="Top-5 ImageNet classes",
                                    visible=backbone.has_classifier)
                    fc2 = gr.Image(label="fc2: 4096 values as 64×64", height=260,
                                   visible=backbone.has_classifier)
                if not backbone.has_classifier:
                    gr.Markdown("*Class predictions and fc2 need the ImageNet classifier, which these "
                                "weights do not have.*")
        wire(run, functools.partial(run_activations, backbone), [image, layers, top, order, view, resolution],
             [grids, heat, top5, fc2], "activations", **FORWARD)
        attribution_section(backbone, image)


def run_attribution(backbone: Backbone, image: str, target: str = "", methods: list[str] | None = None,
                    layer: str = attr.DEFAULT_LAYER, noise: float = 0.15, samples: int = 25, top: int = 3):
    """Heat maps of where the evidence for the target lies, laid over the photo with a colour scale."""
    photo = images.load_image(image)
    results = attr.attribution(backbone, photo, target or None, methods or list(attr.METHODS), layer, noise,
                               int(samples), int(top))
    gallery = []
    for r in results:
        what = {"class": "logit", "channel": "mean activation", "layer": "mean activation"}[r.target.kind]
        for method, heat in r.maps.items():
            where = f" at {r.layer}" if method.startswith("Grad-CAM") else ""
            warning = " · fails the randomization check" if method in attr.SANITY_FAILS else ""
            gallery.append((images.with_colorbar(images.heat_overlay(r.photo, heat)),
                            f"{method}{where} · {r.target.text} ({what} {r.score:.2f}){warning}"))
    return gallery


def attribution_section(backbone: Backbone, image) -> None:
    with gr.Accordion("Where does it look? Grad-CAM, Grad-CAM++, gradients and SmoothGrad", open=False):
        with gr.Row():
            with gr.Column(scale=1):
                target = gr.Dropdown(target_suggestions(backbone), value=None if backbone.has_classifier else "block5_conv3",
                                     allow_custom_value=True, label="Target",
                                     info=("Empty: the top predicted classes. " if backbone.has_classifier else "")
                                     + "A class, a channel (layer:channel) or a layer.")
                methods = gr.CheckboxGroup(list(attr.METHODS), value=list(attr.METHODS), label="Methods")
                layer = gr.Dropdown(conv_layers(backbone), value=attr.DEFAULT_LAYER, label="Grad-CAM layer")
                noise = Slider(0.0, 0.5, value=0.15, step=0.01, label="SmoothGrad noise (× value range)")
                samples = Slider(1, attr.MAX_SAMPLES, value=25, step=1, label="SmoothGrad samples")
                top = Slider(1, 5, value=3, step=1, label="Top classes (with the classifier)",
                                visible=backbone.has_classifier)
                explain = gr.Button("Explain", variant="primary")
            with gr.Column(scale=2):
                maps = gr.Gallery(label="Attribution maps", columns=4, height=360, object_fit="contain",
                                  elem_id="attribution-maps")
        wire(explain, functools.partial(run_attribution, backbone),
             [image, target, methods, layer, noise, samples, top], [maps], "attribution", **FORWARD)


# ---------------------------------------------------------------- Reconstruction

def run_reconstruct(backbone: Backbone, image: str, layer: str = "block3_conv3", steps: int = 200,
                    layer_set: list[str] | None = None, size: int = 224, smoothness: float = 1.0,
                    alpha: float = 0.0, optimizer: str = "lbfgs", lr: float = 0.0, seed: int = 0,
                    stretch: bool = True):
    """Rebuild the image from one layer's (or several layers') features, streaming the progress."""
    photo = images.load_image(image)
    layers = list(layer_set or EVERY_BLOCK) if layer == COMPARE else [layer]
    curve, frames = [], []
    for r in time_limited(reconstruct(backbone, photo, layers, steps, size, smoothness, alpha, optimizer, lr or None,
                                      int(seed))):
        shown = [images.stretch(im) if stretch else im for im in r.images]
        frames.append(images.side_by_side([r.target] + shown))
        curve += [{"step": r.step, "log10 loss": log10_loss(loss), "layer": name}
                  for name, loss in zip(r.layers, r.loss)]
        gallery = [(r.target, "input")] + [
            (im, f"{name} · feature error {e:.3f} · {p:.1f} dB" + (" · contrast stretched" if stretch else ""))
            for im, name, e, p in zip(shown, r.layers, r.feature_error, r.psnr)]
        status = status_line(r.step, r.steps, r.seconds)
        yield gallery, pd.DataFrame(curve), status, None
    with tempfile.TemporaryDirectory(prefix="reconstruction-") as folder:
        files = [images.save_png(im, f"{folder}/{name}.png") for im, name in zip(r.images, r.layers)]
        files.append(images.save_animation(frames, f"{folder}/reconstruction.gif"))
        yield gallery, pd.DataFrame(curve), status + ending(r.step, r.steps), files


def reconstruction_tab(backbone: Backbone) -> None:
    layer_choices = [COMPARE] + backbone.layer_names
    with gr.Tab("Reconstruction", elem_id="tab-reconstruction"):
        gr.Markdown("Start from flat grey and change the pixels until their features at one layer match "
                    "the photo's (Mahendran & Vedaldi, 2015). Shallow layers keep almost everything; "
                    "deep ones keep the layout and lose colour and detail.")
        with gr.Row():
            with gr.Column(scale=1):
                image = ImageInput(type="filepath", label="Image", height=260, elem_id="reconstruction-image")
                layer = gr.Dropdown(layer_choices, value="block3_conv3", label="Layer",
                                    info=f"Or '{COMPARE}' to run the layers below side by side.")
                steps = Slider(10, MAX_STEPS, value=200, step=10, label="Steps")
                with gr.Accordion("More settings", open=False):
                    layer_set = gr.Dropdown(backbone.layer_names, value=list(EVERY_BLOCK), multiselect=True,
                                            max_choices=6, label="Layers to compare")
                    size = Slider(64, MAX_SIDE, value=224, step=16, label="Image size (long side, px)")
                    smoothness = Slider(0, 10, value=1.0, step=0.1, label="Smoothness (× total variation)",
                                           info="Scales the per-layer TV prior; 0 turns it off.")
                    alpha = Slider(0, 10, value=0.0, step=0.1, label="Alpha-norm weight",
                                      info="Keeps pixel values inside their range (α = 6).")
                    optimizer = gr.Radio(["lbfgs", "adam"], value="lbfgs", label="Optimizer")
                    lr = Number(value=0, minimum=0, maximum=10, label="Learning rate",
                                   info="0 = the optimizer's default (L-BFGS 1.0, Adam 0.02).")
                    seed = Number(value=0, precision=0, minimum=0, label="Seed")
                    stretch = gr.Checkbox(value=True, label="Stretch contrast for display",
                                          info="Deep layers give faint images: stretched to full range "
                                               "(the metrics use the raw result).")
                with gr.Row():
                    run = gr.Button("Reconstruct", variant="primary")
                    stop = gr.Button("Stop", variant="stop")
                gr.Examples([[p] for p in EXAMPLES], inputs=[image])
            with gr.Column(scale=2):
                gallery = gr.Gallery(label="Input and reconstructions", columns=3, height=420,
                                     object_fit="contain", elem_id="reconstructions")
                status = gr.Markdown()
                curve = gr.LinePlot(x="step", y="log10 loss", color="layer", label="Loss (log10)", height=240)
                files = gr.File(label="Download: full-size results and the run as a GIF", file_count="multiple")
        event = wire(run, functools.partial(run_reconstruct, backbone),
                     [image, layer, steps, layer_set, size, smoothness, alpha, optimizer, lr, seed, stretch],
                     [gallery, curve, status, files], "reconstruct", **OPTIMIZE)
        stop.click(None, cancels=[event])


# ---------------------------------------------------------------- Class visualization

CHANNEL_EXAMPLES = ["block3_conv3:12", "block4_conv3:42", "block4_conv3:97", "block5_conv3:7", "block5_conv3:300"]
CUSTOM = "custom"


def target_suggestions(backbone: Backbone) -> list[str]:
    """What a target box offers: the class names (with the classifier), example channels, the layers."""
    return (imagenet_labels() if backbone.has_classifier else []) + CHANNEL_EXAMPLES + conv_layers(backbone)


def run_visualize(backbone: Backbone, targets: list[str] | str, steps: int = 256, size: int = 160,
                  preset: str = "lucid", start: str = "noise", photo: str | None = None, octaves: int = 1,
                  seed: int = 0, parametrization: str = "fourier", lr: float = 0.05, jitter: int = 8,
                  scale: float = 0.1, rotate: float = 10.0, blur: float = 0.0, tv: float = 0.0):
    """Images that excite each target (class, layer:channel or layer), streamed as they form."""
    knobs = dict(parametrization=parametrization, lr=lr, jitter=int(jitter), scale=scale, rotate=rotate,
                 blur=blur, tv=tv) if preset == CUSTOM else {}
    picture = images.load_image(photo) if start == "photo" else None
    for v in time_limited(vis.visualize(backbone, targets, steps, size, "lucid" if preset == CUSTOM else preset,
                                        picture, octaves, int(seed), **knobs)):
        gallery = [(im, caption(t, r, p)) for im, t, r, p in zip(v.images, v.targets, v.responses, v.probabilities)]
        yield gallery, status_line(v.step, v.steps, v.seconds), None
    with tempfile.TemporaryDirectory(prefix="visualization-") as folder:
        files = [images.save_png(im, f"{folder}/{t.text.replace(':', '_').replace(' ', '_')}.png")
                 for im, t in zip(v.images, v.targets)]
        yield gallery, status_line(v.step, v.steps, v.seconds) + ending(v.step, v.steps), files


def caption(target, response: float, probability: float | None) -> str:
    what = {"class": "logit", "channel": "mean response", "layer": "mean square"}[target.kind]
    text = f"{target.text} · {what} {response:.2f}"
    return text + (f" · p = {probability:.2f} under jitter" if probability is not None else "")


def visualization_tab(backbone: Backbone) -> None:
    suggestions = target_suggestions(backbone)
    defaults = ["goldfish", "tabby"] if backbone.has_classifier else CHANNEL_EXAMPLES[1:4]
    lucid = vis.PRESETS["lucid"]
    with gr.Tab("Class visualization", elem_id="tab-visualization"):
        gr.Markdown("Gradient ascent on what a class, a channel or a layer responds to: the images it most "
                    "wants to see (Olah et al., *Feature Visualization*, Distill 2017). Targets: ImageNet "
                    "classes (with the classifier), channels as `layer:channel`, or a whole layer (DeepDream).")
        with gr.Row():
            with gr.Column(scale=1):
                targets = gr.Dropdown(suggestions, value=defaults, multiselect=True, allow_custom_value=True,
                                      max_choices=vis.MAX_TARGETS, label="Targets (up to 8)",
                                      info="Type to search; any channel works, e.g. block4_conv1:311.")
                steps = Slider(16, vis.MAX_STEPS, value=256, step=16, label="Steps")
                size = Slider(64, vis.MAX_SIDE, value=160, step=16, label="Image size (px)")
                preset = gr.Radio(["lucid", "raw", CUSTOM], value="lucid", label="Regularization",
                                  info="lucid: Fourier + decorrelated colour + transforms; raw: plain ascent.")
                with gr.Accordion("Start from a photo (DeepDream)", open=False):
                    start = gr.Radio(["noise", "photo"], value="noise", label="Start from")
                    photo = ImageInput(type="filepath", label="Photo", height=200)
                    octaves = Slider(1, vis.MAX_OCTAVES, value=3, step=1, label="Octaves")
                with gr.Accordion("Knobs (used when Regularization is 'custom')", open=False):
                    parametrization = gr.Radio(["fourier", "pixels"], value=lucid.parametrization,
                                               label="Parametrization")
                    lr = Slider(0.001, 0.5, value=lucid.lr, label="Learning rate")
                    jitter = Slider(0, 32, value=lucid.jitter, step=1, label="Jitter (px)")
                    scale = Slider(0, 0.5, value=lucid.scale, label="Scale (±)")
                    rotate = Slider(0, 45, value=lucid.rotate, label="Rotation (±°)")
                    blur = Slider(0, 10, value=lucid.blur, label="Blur penalty")
                    tv = Slider(0, 10, value=lucid.tv, label="Total variation")
                seed = Number(value=0, precision=0, minimum=0, label="Seed")
                with gr.Row():
                    run = gr.Button("Visualize", variant="primary")
                    stop = gr.Button("Stop", variant="stop")
            with gr.Column(scale=2):
                gallery = gr.Gallery(label="What the targets want to see", columns=3, height=520,
                                     object_fit="contain", elem_id="visualizations")
                status = gr.Markdown()
                files = gr.File(label="Download the final images", file_count="multiple")
        knobs = [parametrization, lr, jitter, scale, rotate, blur, tv]
        event = wire(run, functools.partial(run_visualize, backbone),
                     [targets, steps, size, preset, start, photo, octaves, seed] + knobs, [gallery, status, files],
                     "visualize", **OPTIMIZE)
        stop.click(None, cancels=[event])
        preset.input(show_preset, inputs=[preset], outputs=knobs, api_visibility="private")
        for knob in knobs:  # touching a knob means a custom setting
            knob.input(lambda: CUSTOM, outputs=[preset], api_visibility="private")


def show_preset(preset: str):
    """Set the knobs to what a preset uses, so people see what it does."""
    if preset == CUSTOM:
        return [gr.skip()] * 7
    p = vis.PRESETS[preset]
    return [p.parametrization, p.lr, p.jitter, p.scale, p.rotate, p.blur, p.tv]


# ---------------------------------------------------------------- Style transfer

STYLES = sorted(str(p.relative_to(HERE)) for p in (HERE / "examples" / "styles").glob("*.jpg"))
STYLE_PAIRS = [["examples/cat.jpg", "examples/styles/swirls.jpg"],
               ["examples/astronaut.jpg", "examples/styles/mosaic.jpg"],
               ["examples/coffee.jpg", "examples/styles/circles.jpg"]]
MODES = ("style transfer", "style per layer")


def run_style_transfer(backbone: Backbone, content: str, style: str, style_strength: float | None = None,
                       content_strength: float = 4.0, smoothness: float | None = None, size: int = 384,
                       steps: int = 200,
                       start: str = "content", keep_colors: bool = False, style_scale: float = 1.0, seed: int = 0,
                       mode: str = MODES[0], layers: list[str] | None = None):
    """Gatys style transfer (or the per-layer study), streaming the image and the three loss terms.

    style_strength and content_strength are log10 of the weights; the style and smoothness defaults
    depend on the weights in use (1e-2 and 30 with ImageNet's, as in the TensorFlow tutorial; 1.0
    and 5 offline)."""
    content_photo, style_photo = images.load_image(content), images.load_image(style)
    if mode == MODES[1]:
        run = st.style_per_layer(backbone, content_photo, style_photo, layers or list(st.STYLE_LAYERS),
                                 min(int(size), st.MAX_SIDE // 2), steps, start, int(seed))
    else:
        weight = None if style_strength is None else 10.0 ** style_strength
        run = st.style_transfer(backbone, content_photo, style_photo, weight, 10.0 ** content_strength,
                                smoothness, size, steps, start, keep_colors, style_scale, seed=int(seed))
    curve, frames = [], []
    for s in time_limited(run):
        frames.append(images.side_by_side(s.images) if len(s.images) > 1 else s.images[0])
        curve += [{"step": s.step, "log10 loss": log10_loss(v), "term": k} for k, v in s.losses.items()]
        gallery = list(zip(s.images, s.captions))
        status = status_line(s.step, s.steps, s.seconds) + " · " + " · ".join(
            f"{k} {v:.3g}" for k, v in s.losses.items())
        yield gallery, pd.DataFrame(curve), status, None
    with tempfile.TemporaryDirectory(prefix="style-") as folder:
        files = [images.save_png(im, f"{folder}/{cap if mode == MODES[1] else 'stylized'}.png")
                 for im, cap in zip(s.images, s.captions)]
        files.append(images.save_animation([images.fit_long_side(f, 384) for f in frames], f"{folder}/run.gif"))
        yield gallery, pd.DataFrame(curve), status + ending(s.step, s.steps), files


def style_tab(backbone: Backbone) -> None:
    with gr.Tab("Style transfer", elem_id="tab-style"):
        gr.Markdown("Neural style transfer (Gatys, Ecker & Bethge, 2016): keep the content photo's layout "
                    "(block5_conv2 features) and take on the style image's textures (Gram matrices of "
                    "block1–5_conv1). *Style per layer* shows what matching one layer's Gram matrix does.")
        with gr.Row():
            with gr.Column(scale=1):
                with gr.Row():
                    content = ImageInput(type="filepath", label="Content", height=200, elem_id="style-content")
                    style = ImageInput(type="filepath", label="Style", height=200)
                gr.Examples(STYLE_PAIRS, inputs=[content, style], label="Example pairs")
                mode = gr.Radio(list(MODES), value=MODES[0], label="Mode")
                style_strength = Slider(-4, 4, value=math.log10(st.default_style_weight(backbone)), step=0.25,
                                           label="Style strength (log10 of the weight)",
                                           info="The default depends on the weights in use.")
                steps = Slider(10, st.MAX_STEPS, value=200, step=10, label="Steps",
                               info="200 steps at 384 px: 60–75 s on 2 CPU cores; Stop keeps the latest image.")
                size = Slider(128, st.MAX_SIDE, value=384, step=32, label="Output size (long side, px)")
                with gr.Accordion("More settings", open=False):
                    content_strength = Slider(0, 8, value=4, step=0.25, label="Content strength (log10)")
                    smoothness = Slider(0, 300, value=st.default_tv_weight(backbone), step=1,
                                        label="Smoothness (TV weight)", info="The default depends on the weights.")
                    start = gr.Radio(list(st.STARTS), value="content", label="Start from")
                    keep_colors = gr.Checkbox(value=False, label="Keep the content's colours (luminance only)")
                    style_scale = Slider(0.25, 2.0, value=1.0, step=0.05, label="Style scale",
                                            info="The style image's size relative to the output.")
                    seed = Number(value=0, precision=0, minimum=0, label="Seed")
                    layers = gr.Dropdown(conv_layers(backbone), value=list(st.STYLE_LAYERS), multiselect=True,
                                         max_choices=6, label="Layers for 'style per layer'")
                with gr.Row():
                    run = gr.Button("Stylize", variant="primary")
                    stop = gr.Button("Stop", variant="stop")
            with gr.Column(scale=2):
                gallery = gr.Gallery(label="Result", columns=1, height=520, object_fit="contain", elem_id="stylized")
                status = gr.Markdown()
                curve = gr.LinePlot(x="step", y="log10 loss", color="term", label="Loss terms (log10)", height=220)
                files = gr.File(label="Download: full-size result and the run as a GIF", file_count="multiple")
        event = wire(run, functools.partial(run_style_transfer, backbone),
                     [content, style, style_strength, content_strength, smoothness, size, steps, start, keep_colors,
                      style_scale, seed, mode, layers], [gallery, curve, status, files], "style_transfer", **OPTIMIZE)
        stop.click(None, cancels=[event])


# ---------------------------------------------------------------- the page

def build_app(backbone: Backbone) -> gr.Blocks:
    """The whole page; every tab is also a named API endpoint."""
    with gr.Blocks(title=TITLE, delete_cache=(1800, 3600)) as demo:
        gr.Markdown(header(backbone))
        activations_tab(backbone)
        reconstruction_tab(backbone)
        visualization_tab(backbone)
        style_tab(backbone)

        def model_info() -> dict:
            """The model, the weights in use and whether the ImageNet classifier is available."""
            return backbone.describe()

        gr.api(model_info, api_name="model_info")
    return demo


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None,
                        help="imagenet (default; falls back to hed offline), hed, or a path to a VGG16 "
                             "weights file. Also read from $VIZ_WEIGHTS.")
    parser.add_argument("--share", action="store_true", help="Ask Gradio for a public share link.")
    return parser.parse_args(argv)


def launch(demo: gr.Blocks, share: bool = False, block: bool = True, **kwargs) -> gr.Blocks:
    """Serve the app (GRADIO_SERVER_NAME/PORT apply); say plainly when a share link is not made."""
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
    # ssr_mode/run_history off: mitigation for the gradio 6.31 advisory (CVE-2026-134825).
    demo.launch(share=share, ssr_mode=False, run_history=False, show_error=False,
                max_file_size=MAX_UPLOAD, prevent_thread_lock=True, **kwargs)
    if share and not demo.share_url:
        print("No share link could be created (is this machine offline?); the app is only "
              f"served locally at {demo.local_url}", file=sys.stderr, flush=True)
    if block:
        demo.block_thread()
    return demo


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        backbone = load_backbone(resolve_source(args.weights))
    except WeightsError as err:
        sys.exit(f"error: {err}")
    print(f"VGG16 weights: {backbone.source}. {backbone.note}", flush=True)
    launch(build_app(backbone), share=args.share)


if __name__ == "__main__":
    main()
