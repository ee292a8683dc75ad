"""The contract between the page and its tabs: what a tab is handed (`Page`) and what it hands back (`Tab`).

A tab is one module with one builder, `build(page) -> Tab`; the page lists the builders in order
(`ui.page.TABS`), so adding a tab is that module and one line there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import gradio as gr

from viz.model import Backbone

from .photos import SharedPhoto
from .showcase import Showcase


@dataclass
class Page:
    """What a tab builder is handed: the network, how long any one run may take (seconds; 0: no
    limit), and the page's own Blocks and Tabs (for what happens at page load, and to select a tab)."""

    backbone: Backbone
    time_limit: float
    blocks: gr.Blocks
    tabs: gr.Tabs


@dataclass
class UnitSource:
    """A clickable picture of channels: `name_unit(*inputs, evt)` gives the `layer:channel` clicked,
    and `photo` is the image the picture was made from (the unit page shows the unit on it)."""

    picture: gr.Image
    name_unit: Callable
    inputs: list
    photo: gr.Image


@dataclass
class Tab:
    """What a tab hands the page: its photo (offered to every other tab), its finished examples (shown
    at the first visit), the pictures in which a click names a unit, and (the Microscope) how to open
    a unit named by such a click."""

    photo: SharedPhoto | None = None
    showcases: list[Showcase] = field(default_factory=list)
    unit_sources: list[UnitSource] = field(default_factory=list)
    open_unit: Callable[[UnitSource], None] | None = None
