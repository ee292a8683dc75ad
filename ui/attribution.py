"""The "Where it looks" tab: where the evidence for a target lies, by ten methods, each map with its
evidence: how faithful it is (taking the photo apart in its order), whether it depends on what the
network learned (the sanity check), and which channels carry the evidence."""

from __future__ import annotations

import functools
import time

import gradio as gr
import numpy as np
import pandas as pd

from viz import atlas, images
from viz import attribution as attr
from viz import faithfulness as faith
from viz import sanity as sane
from viz.io import cache, imagefiles
from viz.model import LAST_CONV, Backbone, conv_layers

from .links import unit_link
from .photos import EXAMPLE, EXAMPLES, SharedPhoto, share_button
from .runs import FORWARD, OPTIMIZE, wire
from .showcase import example_of
from .streaming import Outputs, View, streamed
from .tab import Page, Tab
from .widgets import CheckboxGroup, Dropdown, ImageInput, result_gallery, slider, target_suggestions

CURVES = {"deletion": "Most relevant greyed first (lower: better)",
          "reverse": "Least relevant greyed first (higher: better)",
          "insertion": "Most relevant pasted into a blur first (higher: better)"}
COSTS = ("ig_steps", "occlusion_patch", "rise_masks", "scorecam_channels")
INTRO = ("**Where does it look, and can you trust it?** Each map says which pixels the evidence for a class, "
         "a channel or a layer comes from, by its own method: gradients ([Grad-CAM](https://arxiv.org/abs/1610.02391), "
         "Grad-CAM++, [LayerCAM](https://ieeexplore.ieee.org/document/9462463), [SmoothGrad]"
         "(https://arxiv.org/abs/1706.03825), [Integrated Gradients](https://arxiv.org/abs/1703.01365)) or "
         "changing the photo ([Occlusion](https://arxiv.org/abs/1311.2901), [RISE](https://arxiv.org/abs/1806.07421), "
         "[Score-CAM](https://arxiv.org/abs/1910.01279)). Beside every map, its evidence: the photo is greyed out "
         "16 px square by square in the map's order, most relevant first and least relevant first, and the "
         "target scored again ([Petsiuk et al.](https://arxiv.org/abs/1806.07421)); a trustworthy map makes the "
         "score fall much faster in its own order than in reverse, and beats random orders. *Check sanity* "
         "redraws the network's weights block by block: a map that does not change was never about the network "
         "([Adebayo et al., 2018](https://arxiv.org/abs/1810.03292)).")
OFFLINE_NOTE = ("*These are the offline weights (an edge detector's filters, fine-tuned from ImageNet VGG16): their "
                "channels answer edges and contrast, so the maps light up outlines and textured background more than "
                "objects.*")


def show_maps(backbone: Backbone, values: dict):
    """The maps at once, then each with its faithfulness: curves, a table and what they say in words."""
    results = attr.attribution(backbone, imagefiles.load_image(values["image"]), attr.AttributionRun.of(values))
    gallery = [(overlay(r.photo, heat), caption(r, method)) for r in results for method, heat in r.maps.items()]
    empty = (None,) * (len(CURVES) + 1)
    yield (gallery, *empty, "*Measuring how faithful each map is…*")
    found = [faith.faithfulness(backbone, r.photo, r.target, r.maps) for r in results]
    gallery = [(overlay(r.photo, heat), caption(r, method, f))
               for r, f in zip(results, found) for method, heat in r.maps.items()]
    yield (gallery, *curve_frames(found), evidence_table(results, found), in_words(results, found, backbone))


def overlay(photo: np.ndarray, heat: np.ndarray) -> np.ndarray:
    return images.with_colorbar(images.heat_overlay(photo, heat))


def caption(result: attr.Attribution, method: str, found: faith.Faithfulness | None = None) -> str:
    """The method (and for the CAMs, their layer; for a class, the class); with the gap between the map's
    two orders."""
    text = method + (f" at {result.layer}" if "CAM" in method else "")
    text += f" · {result.target.text}" if result.target.kind == "class" else ""
    return text if found is None else text + f" · gap {found.curves[method].gap:+.2f}"


def curve_frames(found: list[faith.Faithfulness]) -> list[pd.DataFrame]:
    """One table a curve kind: (share changed, score, series), every method's and the random orders' mean."""
    frames = []
    for kind in CURVES:
        rows = []
        for f in found:
            series = dict(f.curves) | {faith.RANDOM: f.random_mean()}
            prefix = f"{f.target.text} · " if len(found) > 1 else ""
            rows += [{"share changed": float(x), "score": float(y), "map": prefix + name}
                     for name, c in series.items() for x, y in zip(c.fractions, getattr(c, kind))]
        frames.append(pd.DataFrame(rows))
    return frames


def evidence_table(results: list[attr.Attribution], found: list[faith.Faithfulness]) -> pd.DataFrame:
    """Every map's areas, gap and verdict against the random orders; the random orders' own row."""
    rows = []
    for result, f in zip(results, found):
        for method, c in f.curves.items():
            notes = "; ".join(f"{k} {v:.1%}" if k == "completeness gap" else f"{k} {v:.3g}"
                              for k, v in result.details.get(method, {}).items())
            rows.append({"target": f.target.text, "map": method, "deletion ↓": round(c.area("deletion"), 3),
                         "reverse ↑": round(c.area("reverse"), 3), "gap ↑": round(c.gap, 3),
                         "insertion ↑": round(c.area("insertion"), 3),
                         "beats random": "yes" if f.beats_random(method) else "no", "notes": notes})
        means = {k: f.baseline(k) for k in ("deletion", "reverse", "gap", "insertion")}
        rows.append({"target": f.target.text, "map": f"{faith.RANDOM} ({len(f.random)} orders)",
                     **{f"{k} {'↓' if k == 'deletion' else '↑'}": round(m, 3) for k, (m, _) in means.items()},
                     "beats random": "", "notes": f"gap ± {means['gap'][1]:.3f}"})
    table = pd.DataFrame(rows)
    return table if len(found) > 1 else table.drop(columns="target")


def in_words(results: list[attr.Attribution], found: list[faith.Faithfulness], backbone: Backbone) -> str:
    """What the curves say, a sentence a map, for a student."""
    share = faith.FRACTIONS[1]
    lines = []
    for f in found:
        random, spread = f.baseline("gap")
        lines.append(f"**How far can each map be trusted?** The photo is greyed out {faith.PATCH.default} px square by "
                     f"square in each map's order and **{f.target.text}** scored again ({f.measure}; "
                     f"{f.score:.3g} on the photo).")
        for method, c in f.curves.items():
            verdict = ("better than every random order" if f.beats_random(method)
                       else "**no better than a random order**")
            lines.append(f"- **{method}**: removing the {share:.0%} of the photo it ranks first {change(c.deletion[1])}; "
                         f"removing the {share:.0%} it ranks last, {change(c.reverse[1], 'it')}. The gap between the "
                         f"orders, {c.gap:+.2f}, is {verdict} ({random:+.2f} ± {spread:.2f}).")
    details = [f"{m}: its attributions add up to the score's change but for {d['completeness gap']:.1%}"
               for r in results for m, d in r.details.items() if "completeness gap" in d]
    lines += ["", "*Integrated Gradients' completeness: " + "; ".join(details) + ".*"] if details else []
    return "\n".join(lines + ([] if backbone.has_classifier else ["", OFFLINE_NOTE]))


def change(score: float, what: str = "the score") -> str:
    """A score (1 = the photo's) as what happened to it, in words."""
    if abs(score - 1) < 0.005:
        return f"leaves {what} as it was"
    return f"{'drops' if score < 1 else 'raises'} {what} by {abs(1 - score):.0%}"


def show_sanity(backbone: Backbone, values: dict):
    """The cascading randomisation, a View a stage: each map's rank correlation with its trained map,
    each map as the blocks are redrawn, and (at the end) the verdict."""
    photo = imagefiles.load_image(values["image"])
    rows = {}
    for state in sane.sanity(backbone, photo, attr.AttributionRun.of(values)):
        for method, heat in state.maps.items():
            rows.setdefault(method, [(overlay_small(state.trained.photo, state.trained.maps[method]),
                                      f"{method} · trained")])
            rows[method].append((overlay_small(state.trained.photo, heat), f"{method} · to {state.stages[-1]} redrawn"))
        columns = 1 + len(state.planned)
        gallery = [item for row in rows.values() for item in row + [(blank(row), "")] * (columns - len(row))]
        yield View(len(state.stages), len(state.planned), state.seconds,
                   (sanity_frame(state), gr.Gallery(gallery, columns=columns)),
                   progress=f"**Redrawn: {', '.join(state.stages)}**", note=sanity_words(state))


def overlay_small(photo: np.ndarray, heat: np.ndarray) -> np.ndarray:
    return images.fit_long_side(images.heat_overlay(photo, heat), 160)


def blank(row: list) -> np.ndarray:
    """A white picture the size of a row's maps: the place of a stage not redrawn yet."""
    return np.full_like(row[0][0], 255)


def sanity_frame(state: sane.Sanity) -> pd.DataFrame:
    rows = [{"blocks redrawn": k, "rank correlation": value, "map": method}
            for method, values in state.correlations.items() for k, value in enumerate([1.0] + values)]
    return pd.DataFrame(rows)


def sanity_words(state: sane.Sanity) -> str:
    """How far each map moved, and (at the end) the maps that hardly depend on what the network learned."""
    lines = [""] + [f"- {m}: rank correlation with its trained map {v[-1]:+.2f}, SSIM {state.ssims[m][-1]:.2f}"
                    for m, v in state.correlations.items()]
    if len(state.stages) == len(state.planned):
        flagged = state.flagged()
        lines.append("\n⚠️ " + ", ".join(flagged) + ": this map hardly depends on what the network learned"
                     if flagged else f"\nEvery map changed once the weights were redrawn (all below "
                                     f"{sane.FLAGGED}): they depend on what the network learned")
    return "\n".join(lines)


def show_channels(backbone: Backbone, pictures: cache.TileCache, values: dict):
    """The channels that carry the evidence: each one's own map at once, then its atlas picture."""
    found = attr.channel_evidence(backbone, imagefiles.load_image(values["image"]), attr.AttributionRun.of(values),
                                  values["count"])
    words, begin = channel_words(found), time.monotonic()
    for known in atlas.tiles(backbone, found.layer, found.channels, pictures):
        yield View(len(known), len(found.channels), time.monotonic() - begin, (channel_gallery(found, known),),
                   progress=f"**{len(known)} of {len(found.channels)} pictures**", note=" · " + words)


def channel_gallery(found: attr.ChannelEvidence, known: dict) -> list:
    """For each channel: its evidence on the photo, and (once known) its atlas picture."""
    gallery = []
    for channel, share, heat in zip(found.channels, found.shares, found.maps):
        gallery.append((overlay(found.photo, heat), f"{found.layer}:{channel} · {share:.0%} of the evidence"))
        if channel in known:
            gallery.append((known[channel], f"{found.layer}:{channel} · what it wants to see"))
    return gallery


def channel_words(found: attr.ChannelEvidence) -> str:
    links = ", ".join(f"{unit_link(f'{found.layer}:{c}')} ({s:.0%})" for c, s in zip(found.channels, found.shares))
    return (f"At **{found.layer}**, these {len(found.channels)} channels carry {found.explained:.0%} of the positive "
            f"first-order evidence for **{found.target.text}** (gradient × activation, summed over the photo): "
            f"{links}.")


def settings_widgets(backbone: Backbone) -> dict:
    """The settings after the target, by the names the handlers and the API know them by."""
    with gr.Accordion("Methods and settings", open=False):
        form = {"methods": CheckboxGroup(list(attr.METHODS), value=list(attr.DEFAULT_METHODS), label="Methods"),
                "layer": Dropdown(conv_layers(backbone), value=LAST_CONV, label="CAM layer (and the channels' layer)"),
                "noise": slider(attr.NOISE), "samples": slider(attr.SAMPLES),
                "top": slider(attr.TOP, visible=backbone.has_classifier)}
        return form | {name: slider(getattr(attr, name.upper())) for name in COSTS}


def maps_results() -> list:
    """Where the maps and their faithfulness show."""
    gallery = result_gallery(label="Attribution maps (captions: the method and the gap between its two orders: see "
                                   "below)", columns=4, height=300, object_fit="contain", elem_id="attribution-maps")
    words = gr.Markdown(elem_id="faithfulness-words")
    plots = []
    with gr.Tabs():
        for kind, label in CURVES.items():
            with gr.Tab(label):
                plots.append(gr.LinePlot(x="share changed", y="score", color="map", label=label, y_lim=[0, None],
                                         elem_id=f"curve-{kind}"))
    table = gr.Dataframe(label="Areas under the curves (the score after each share changed, 1 = the photo's)",
                         interactive=False, elem_id="faithfulness-table", wrap=True)
    return [gallery, *plots, table, words]


def build(page: Page) -> Tab:
    """The tab, wired to /attribution (maps and their faithfulness), /sanity and /channels: its photo
    (shared) and its finished example."""
    with gr.Tab("Where it looks", id="attribution", elem_id="tab-attribution"):
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                photo = ImageInput(type="filepath", label="Image", height=260, elem_id="attribution-image")
                form = {"image": photo, "target": target_widget(page.backbone)}
                explain, share = gr.Button("Explain", variant="primary"), share_button()
                gr.Examples([[p] for p in EXAMPLES], inputs=[photo])
                form |= settings_widgets(page.backbone)
            with gr.Column(scale=2):
                outputs = maps_results()
        sanity_section(page, form)
        channels_section(page, form)
    handler = functools.partial(show_maps, page.backbone)
    wire(explain, handler, form, outputs, "attribution", **FORWARD)
    return Tab(SharedPhoto(photo, share, outputs),
               [example_of("attribution", handler, form, outputs, {"image": EXAMPLE})])


def target_widget(backbone: Backbone):
    """A class, a channel or a layer; by default the top class with the classifier, else the last layer."""
    return Dropdown(target_suggestions(backbone), allow_custom_value=True, label="Target",
                    value="" if backbone.has_classifier else LAST_CONV,
                    info=("Empty: the top predicted classes. " if backbone.has_classifier else "")
                    + "A class, a channel (layer:channel) or a layer.")


def sanity_section(page: Page, form: dict) -> None:
    """The cascading randomisation of the chosen methods, wired to /sanity."""
    gr.Markdown("### Do the maps depend on what the network learned?")
    with gr.Row():
        check = gr.Button("Check sanity", scale=1)
        words = gr.Markdown(elem_id="sanity-words")
    with gr.Row():
        plot = gr.LinePlot(x="blocks redrawn", y="rank correlation", color="map", y_lim=[-0.5, 1.0],
                           label="Rank correlation with the trained map, blocks redrawn from the top",
                           elem_id="sanity-plot")
        strips = result_gallery(label="Each map (a row) as the blocks are redrawn (left to right)", columns=6,
                                height=360, object_fit="contain", elem_id="sanity-maps",
                                allow_preview=False)
    handler = streamed(functools.partial(show_sanity, page.backbone), Outputs(shown=2), page.time_limit)
    wire(check, handler, form, [plot, strips, words], "sanity", **OPTIMIZE)


def channels_section(page: Page, form: dict) -> None:
    """The channels that carry the evidence, wired to /channels."""
    gr.Markdown("### Which channels carry the evidence?")
    with gr.Row():
        count = slider(attr.COUNT, scale=2)
        show = gr.Button("Show the channels", scale=1)
    words = gr.Markdown(elem_id="channels-words")
    gallery = result_gallery(label="Each channel's evidence on the photo, and what it wants to see", columns=4,
                             height=320, object_fit="contain", elem_id="evidence-channels")
    inputs = {name: form[name] for name in ("image", "target", "layer", "top")} | {"count": count}
    handler = streamed(functools.partial(show_channels, page.backbone, cache.TileCache()), Outputs(), page.time_limit)
    wire(show, handler, inputs, [gallery, words], "channels", **OPTIMIZE)
