"""The input widgets every tab builds: Gradio components that pass uploads on undecoded, quote values
back safely and explain wrong-type values, and builders that take their bounds and defaults from an
analysis's Range."""

from __future__ import annotations

import html
import math

import gradio as gr

from viz.errors import SEED, Range, quoted
from viz.model import Backbone, conv_layers, imagenet_labels

CHANNEL_EXAMPLES = ["block3_conv3:12", "block4_conv3:42", "block4_conv3:97", "block5_conv3:7", "block5_conv3:300"]


WRAPPED_CAPTIONS = "wrapped-captions"  # a gallery whose captions wrap in full (CSS below), not cut at one line
CSS = (f".{WRAPPED_CAPTIONS} .caption-label {{ white-space: normal; overflow-wrap: break-word; max-width: 100%; }}"
       f" @media (max-width: 640px) {{ .{WRAPPED_CAPTIONS} .caption-label {{ font-size: 10px; padding: 2px 4px; }} }}")


def result_gallery(**kwargs) -> gr.Gallery:
    """A gallery of results: read-only (no upload, clear or delete control, no tab stops of its own),
    shown and downloaded losslessly as PNG."""
    return gr.Gallery(**({"format": "png", "interactive": False} | kwargs))


class ImageInput(gr.Image):
    """An image upload passed on as its file path, undecoded: `imagefiles.load_image` decodes it (its
    first frame only, its size checked first) and says what is wrong with a file that is no image.
    Gradio's own Image would decode and convert every frame of an animation before that."""

    is_template = True  # drawn by Gradio's own Image component

    def preprocess(self, payload):
        if payload is None or payload.path:  # an upload, already checked to lie in Gradio's upload folder
            return None if payload is None else str(payload.path)
        try:  # a data: URL, written to a file by Gradio
            return super().preprocess(payload)
        except Exception:
            return None


def quotes_escaped(component: type) -> type:
    """A Gradio choice input whose own refusals ("Value: ... is not in the list of choices") are
    shortened and HTML-escaped: they quote what was sent, and a message shows as HTML, where a sent
    link or tag would be live. (A subclass of the component itself, so that Gradio draws it as one.)"""
    class Escaped(component):
        is_template = True

        def preprocess(self, payload):
            try:
                return super().preprocess(payload)
            except gr.Error as err:
                text = str(err.message)
                text = text if len(text) <= 400 else text[:399] + "…"
                raise gr.Error(html.escape(text, quote=False), print_exception=False) from None

    Escaped.__name__ = Escaped.__qualname__ = component.__name__
    return Escaped


Dropdown, Radio, CheckboxGroup = (quotes_escaped(c) for c in (gr.Dropdown, gr.Radio, gr.CheckboxGroup))


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


def slider(setting: Range, **kwargs) -> Slider:
    """A slider over an analysis's Range: its bounds, default, increment and name, as the analysis
    checks them (`value` and `label` may be given where the default depends on the weights)."""
    return Slider(setting.low, setting.high, **{"value": setting.default, "step": setting.step,
                                                "label": setting.label or setting.name, **kwargs})


def number(setting: Range, **kwargs) -> Number:
    """A number box over an analysis's Range (see `slider`)."""
    return Number(**{"value": setting.default, "minimum": setting.low, "maximum": setting.high,
                     "label": setting.label or setting.name, **kwargs})


def seed_box() -> Number:
    """The random seed every run takes: a whole number."""
    return number(SEED, precision=0, maximum=None)


def as_number(value, label) -> float:
    """`value` as a finite float, or a message naming the widget."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number):
        raise gr.Error(f"{label} must be a number, not {quoted(value)}.", print_exception=False)
    return number


def target_suggestions(backbone: Backbone) -> list[str]:
    """What a target box offers: the class names (with the classifier), example channels, the layers."""
    return (imagenet_labels() if backbone.has_classifier else []) + CHANNEL_EXAMPLES + conv_layers(backbone)
