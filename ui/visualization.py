"""The Class visualization tab: images that excite classes, channels or layers (and DeepDream)."""

from __future__ import annotations

import functools

import gradio as gr

from viz.io import imagefiles
from viz import visualize as vis
from viz.errors import SEED
from viz.model import Backbone
from viz.targets import MAX_TARGETS

from .common import (Dropdown, ImageInput, link_to, Radio, SharedPhoto, View, seed_box, share_button, slider, stream,
                     target_suggestions, wire_run)
from .showcase import Showcase

CUSTOM = "custom"
STARTS = ("noise", "photo")  # the first is the default
KNOBS = ("parametrization", *vis.KNOBS)  # a custom setting's knobs, in the order of the widgets
WHAT_SCORES = {"class": "logit", "channel": "mean response", "layer": "RMS"}


LUCID = vis.PRESETS[vis.DEFAULT_PRESET]  # the knobs' defaults


def run_visualize(backbone: Backbone, targets: list[str] | str, steps: int = vis.CHANNEL_RUN.steps,
                  size: int = vis.CHANNEL_RUN.size, preset: str = vis.DEFAULT_PRESET, start: str = STARTS[0],
                  photo: str | None = None, octaves: int = vis.OCTAVES.default, seed: int = SEED.default,
                  parametrization: str = LUCID.parametrization, lr: float = LUCID.lr, jitter: int = LUCID.jitter,
                  scale: float = LUCID.scale, rotate: float = LUCID.rotate, blur: float = LUCID.blur,
                  tv: float = LUCID.tv):
    """Images that excite each target (class, layer:channel or layer), streamed as they form."""
    knobs = dict(parametrization=parametrization, lr=lr, jitter=int(jitter), scale=scale, rotate=rotate,
                 blur=blur, tv=tv) if preset == CUSTOM else {}
    picture = imagefiles.load_image(photo) if start == STARTS[1] else None
    run = vis.visualize(backbone, targets, steps=steps, size=size,
                        preset=vis.DEFAULT_PRESET if preset == CUSTOM else preset,
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
                steps = slider(vis.STEPS, value=defaults.steps)
                size = slider(vis.SIZE, value=defaults.size)
                preset = Radio(list(vis.PRESETS) + [CUSTOM], value=vis.DEFAULT_PRESET, label="Regularization",
                                  info="lucid: Fourier + decorrelated colour + transforms; raw: plain ascent.")
                with gr.Accordion("Start from a photo (DeepDream)", open=False):
                    start = Radio(list(STARTS), value=STARTS[0], label="Start from")
                    photo = ImageInput(type="filepath", label="Photo", height=200)
                    shared = SharedPhoto(photo, share_button())
                    octaves = slider(vis.OCTAVES)
                with gr.Accordion("Knobs (used when Regularization is 'custom')", open=False):
                    knobs = [Radio(list(vis.PARAMETRIZATIONS), value=LUCID.parametrization, label="Parametrization")]
                    knobs += [slider(vis.KNOBS[name], value=getattr(LUCID, name)) for name in KNOBS[1:]]
                seed = seed_box()
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
