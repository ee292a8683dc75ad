"""The Class visualization tab: images that excite classes, channels or layers (and DeepDream)."""

from __future__ import annotations

import functools

import gradio as gr

from viz import visualize as vis
from viz.io import imagefiles
from viz.model import Backbone
from viz.targets import MAX_TARGETS

from .links import unit_link
from .photos import SharedPhoto, share_button
from .runs import wire_run
from .showcase import example_of
from .streaming import Outputs, View, streamed
from .tab import Page, Tab
from .widgets import Dropdown, ImageInput, Radio, result_gallery, seed_box, slider, target_suggestions

STARTS = ("noise", "photo")  # the first is the default
LOOK_RANGES = {"lr": vis.LR, "jitter": vis.JITTER, "scale": vis.SCALE, "rotate": vis.ROTATE, "blur": vis.BLUR,
               "tv": vis.TV}  # a custom look's knobs after its parametrization, in the order of the widgets
OUTPUTS = Outputs(shown=1, files=True)
INTRO = ("**What does a unit want to see?** Starting from noise, the picture changes until a class, a channel "
         "or a whole layer responds as strongly as it can: the image it most wants to see ([Olah et al., *Feature "
         "Visualization*, Distill 2017](https://distill.pub/2017/feature-visualization/)). Try a channel such as "
         "`block4_conv3:42`, or start from your photo to dream (DeepDream).")


def show_pictures(backbone: Backbone, values: dict):
    """Images that excite each target (class, layer:channel or layer), a View per snapshot."""
    run = vis.VisualizationRun.of(values, look=vis.Look.of(values))
    start = imagefiles.load_image(values["photo"]) if values["start"] == STARTS[1] else None
    for state in vis.visualize(backbone, run, start):
        yield visualization_view(state)


def visualization_view(v: vis.Visualization) -> View:
    """One captioned picture per target, saved under the target's name."""
    gallery = [(im, caption(t, m, r, p))
               for im, t, m, r, p in zip(v.images, v.targets, v.measures, v.responses, v.probabilities)]
    pngs = {t.text.replace(":", "_").replace(" ", "_"): im for im, t in zip(v.images, v.targets)}
    return View(v.step, v.steps, v.seconds, (gallery,), pngs=pngs, note=unit_links(v.targets))


def unit_links(targets: list[vis.Target]) -> str:
    """Links that open each channel target's page in the Microscope (classes and layers have none)."""
    links = [unit_link(t.text) for t in targets if t.kind == "channel"]
    return " · in the Microscope: " + ", ".join(links) if links else ""


def caption(target: vis.Target, measure: str, response: float, probability: float | None) -> str:
    """The target, how strongly it responds, and (at the end, for classes) its probability under jitter."""
    text = f"{target.text} · {measure} {response:.2f}"
    return text + (f" · p = {probability:.2f} under jitter" if probability is not None else "")


def look_widgets() -> dict:
    """A custom look's knobs, at the lucid preset's values."""
    look = {"parametrization": Radio(list(vis.PARAMETRIZATIONS), value=vis.Look().parametrization,
                                     label="Parametrization")}
    return look | {name: slider(setting) for name, setting in LOOK_RANGES.items()}


def settings_widgets(backbone: Backbone) -> tuple[dict, gr.Button]:
    """The tab's inputs after the targets, by the names its handler and its API know them by; and the
    button that shares the DeepDream photo."""
    defaults = vis.default_run(backbone)
    form = {"steps": slider(vis.STEPS, value=defaults.steps), "size": slider(vis.SIZE, value=defaults.size),
            "preset": Radio(list(vis.PRESETS) + [vis.CUSTOM], value=vis.DEFAULT_PRESET, label="Regularization",
                            info="lucid: Fourier + decorrelated colour + transforms; raw: plain ascent.")}
    with gr.Accordion("Start from a photo (DeepDream)", open=False):
        form["start"] = Radio(list(STARTS), value=STARTS[0], label="Start from")
        form["photo"] = ImageInput(type="filepath", label="Photo", height=200)
        share = share_button()
        form["octaves"] = slider(vis.OCTAVES)
    with gr.Accordion("Knobs (used when Regularization is 'custom')", open=False):
        look = look_widgets()
    return form | {"seed": seed_box()} | look, share


def build(page: Page) -> Tab:
    """The tab, wired to /visualize (the knobs follow the preset and vice versa): its DeepDream photo
    (shared) and its finished example."""
    with gr.Tab("Class visualization", id="visualization", elem_id="tab-visualization"):
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                targets = Dropdown(target_suggestions(page.backbone), value=list(vis.default_run(page.backbone).targets),
                                   multiselect=True, allow_custom_value=True, max_choices=MAX_TARGETS,
                                   label=f"Targets (up to {MAX_TARGETS})",
                                   info="Type to search; any channel works, e.g. block4_conv1:311.")
                with gr.Row():
                    run, stop = gr.Button("Visualize", variant="primary"), gr.Button("Stop", variant="stop")
                settings, share = settings_widgets(page.backbone)
            with gr.Column(scale=2):
                outputs = results()
    form = {"targets": targets} | settings
    handler = streamed(functools.partial(show_pictures, page.backbone), OUTPUTS, page.time_limit)
    wire_run(run, stop, handler, form, outputs, "visualize")
    follow_the_preset(form)
    return Tab(SharedPhoto(form["photo"], share), [example_of("visualization", handler, form, outputs, {})])


def results() -> list:
    """Where the run shows: the gallery, the status line, the files."""
    return [result_gallery(label="What the targets want to see (captions: how strongly each responds; on a photo, "
                                 "a channel's mean rarely passes a few units)", columns=3, height=520,
                           object_fit="contain", elem_id="visualizations"),
            gr.Markdown(elem_id="visualization-status"),
            gr.File(label="Download the final images", file_count="multiple", interactive=False)]


def follow_the_preset(form: dict) -> None:
    """Choosing a preset sets the knobs to what it uses (so people see what it does); touching a knob
    makes the look custom."""
    knobs = [form[name] for name in ("parametrization", *LOOK_RANGES)]
    form["preset"].input(show_preset, inputs=[form["preset"]], outputs=knobs, api_visibility="private")
    for knob in knobs:
        knob.input(lambda: vis.CUSTOM, outputs=[form["preset"]], api_visibility="private")


def show_preset(preset: str):
    """The knobs as a preset sets them (unchanged for the custom look)."""
    if preset == vis.CUSTOM:
        return [gr.skip()] * (1 + len(LOOK_RANGES))
    look = vis.PRESETS[preset]
    return [look.parametrization] + [getattr(look, name) for name in LOOK_RANGES]
