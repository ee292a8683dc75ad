"""The Class visualization tab: images that excite classes, channels or layers (and DeepDream)."""

from __future__ import annotations

import functools

import gradio as gr

from viz.io import imagefiles
from viz import visualize as vis
from viz.model import Backbone
from viz.targets import MAX_TARGETS

from .common import (Dropdown, ImageInput, link_to, Number, Radio, SharedPhoto, Slider, View, share_button, stream,
                     target_suggestions, wire_run)
from .showcase import Showcase

CUSTOM = "custom"
KNOBS = ("parametrization", "lr", "jitter", "scale", "rotate", "blur", "tv")  # a preset's Settings, in order
WHAT_SCORES = {"class": "logit", "channel": "mean response", "layer": "RMS"}


def run_visualize(backbone: Backbone, targets: list[str] | str, steps: int = vis.CHANNEL_RUN.steps,
                  size: int = vis.CHANNEL_RUN.size,
                  preset: str = "lucid", start: str = "noise", photo: str | None = None, octaves: int = 1,
                  seed: int = 0, parametrization: str = "fourier", lr: float = 0.05, jitter: int = 8,
                  scale: float = 0.1, rotate: float = 10.0, blur: float = 0.0, tv: float = 0.0):
    """Images that excite each target (class, layer:channel or layer), streamed as they form."""
    knobs = dict(parametrization=parametrization, lr=lr, jitter=int(jitter), scale=scale, rotate=rotate,
                 blur=blur, tv=tv) if preset == CUSTOM else {}
    picture = imagefiles.load_image(photo) if start == "photo" else None
    run = vis.visualize(backbone, targets, steps=steps, size=size, preset="lucid" if preset == CUSTOM else preset,
                        start=picture, octaves=octaves, seed=seed, **knobs)
    return (yield from stream(run, visualization_view))


def visualization_view(v: vis.Visualization) -> View:
    """One captioned picture per target, saved under the target's name."""
    gallery = [(im, caption(t, r, p)) for im, t, r, p in zip(v.images, v.targets, v.responses, v.probabilities)]
    pngs = {t.text.replace(":", "_").replace(" ", "_"): im for im, t in zip(v.images, v.targets)}
    return View(v.step, v.steps, v.seconds, gallery, pngs=pngs, note=unit_links(v.targets))


def unit_links(targets: list[vis.Target]) -> str:
    """Links that open each channel target's page in the Microscope (classes and layers have none)."""
    links = [link_to(f"?unit={t.text}", t.text) for t in targets if t.kind == "channel"]
    return " · in the Microscope: " + ", ".join(links) if links else ""


def caption(target: vis.Target, response: float, probability: float | None) -> str:
    """The target, how strongly it responds, and (at the end, for classes) its probability under jitter."""
    text = f"{target.text} · {WHAT_SCORES[target.kind]} {response:.2f}"
    return text + (f" · p = {probability:.2f} under jitter" if probability is not None else "")


INTRO = ("**What does a unit want to see?** Starting from noise, the picture changes until a class, a channel "
         "or a whole layer responds as strongly as it can: the image it most wants to see ([Olah et al., *Feature "
         "Visualization*, Distill 2017](https://distill.pub/2017/feature-visualization/)). Try a channel such as "
         "`block4_conv3:42`, or start from your photo to dream (DeepDream).")


def visualization_tab(backbone: Backbone) -> tuple[SharedPhoto, list[Showcase]]:
    """The tab's widgets, wired to /visualize (the knobs follow the preset and vice versa); its
    DeepDream photo (shared) and its finished example."""
    defaults = vis.default_run(backbone)
    lucid = vis.PRESETS["lucid"]
    with gr.Tab("Class visualization", id="visualization", elem_id="tab-visualization"):
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                targets = Dropdown(target_suggestions(backbone), value=list(defaults.targets), multiselect=True,
                                   allow_custom_value=True, max_choices=MAX_TARGETS,
                                   label=f"Targets (up to {MAX_TARGETS})",
                                   info="Type to search; any channel works, e.g. block4_conv1:311.")
                with gr.Row():
                    run = gr.Button("Visualize", variant="primary")
                    stop = gr.Button("Stop", variant="stop")
                steps = Slider(16, vis.MAX_STEPS, value=defaults.steps, step=16, label="Steps")
                size = Slider(64, vis.MAX_SIDE, value=defaults.size, step=16, label="Image size (px)")
                preset = Radio(["lucid", "raw", CUSTOM], value="lucid", label="Regularization",
                                  info="lucid: Fourier + decorrelated colour + transforms; raw: plain ascent.")
                with gr.Accordion("Start from a photo (DeepDream)", open=False):
                    start = Radio(["noise", "photo"], value="noise", label="Start from")
                    photo = ImageInput(type="filepath", label="Photo", height=200)
                    shared = SharedPhoto(photo, share_button())
                    octaves = Slider(1, vis.MAX_OCTAVES, value=3, step=1, label="Octaves")
                with gr.Accordion("Knobs (used when Regularization is 'custom')", open=False):
                    knobs = [Radio(["fourier", "pixels"], value=lucid.parametrization, label="Parametrization"),
                             Slider(0.001, 0.5, value=lucid.lr, label="Learning rate"),
                             Slider(0, 32, value=lucid.jitter, step=1, label="Jitter (px)"),
                             Slider(0, 0.5, value=lucid.scale, label="Scale (±)"),
                             Slider(0, 45, value=lucid.rotate, label="Rotation (±°)"),
                             Slider(0, 10, value=lucid.blur, label="Blur penalty"),
                             Slider(0, 10, value=lucid.tv, label="Total variation")]
                seed = Number(value=0, precision=0, minimum=0, label="Seed")
            with gr.Column(scale=2):
                gallery = gr.Gallery(label="What the targets want to see (captions: how strongly each responds; "
                                           "on a photo, a channel's mean rarely passes a few units)", columns=3,
                                     height=520,
                                     object_fit="contain", elem_id="visualizations", format="png")
                status = gr.Markdown(elem_id="visualization-status")
                files = gr.File(label="Download the final images", file_count="multiple")
        handler = functools.partial(run_visualize, backbone)
        wire_run(run, stop, handler, [targets, steps, size, preset, start, photo, octaves, seed] + knobs,
                 [gallery, status, files], "visualize")
        preset.input(show_preset, inputs=[preset], outputs=knobs, api_visibility="private")
        for knob in knobs:  # touching a knob means a custom setting
            knob.input(lambda: CUSTOM, outputs=[preset], api_visibility="private")
    showcase = Showcase("visualization", lambda: handler(list(defaults.targets), defaults.steps, defaults.size),
                        [gallery, status, files], {}, (defaults,))
    return shared, [showcase]


def show_preset(preset: str):
    """Set the knobs to what a preset uses, so people see what it does."""
    if preset == CUSTOM:
        return [gr.skip()] * len(KNOBS)
    return [getattr(vis.PRESETS[preset], knob) for knob in KNOBS]
