"""The example photos, and one photo offered to every tab."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

ROOT = Path(__file__).resolve().parent.parent  # the repository, where examples/ lies
EXAMPLES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*.jpg"))
EXAMPLE = str(ROOT / "examples" / "cat.jpg")  # the photo of every tab's finished example


@dataclass
class SharedPhoto:
    """A tab's photo input, its button that offers the photo to every other tab, and the results made
    from the photo (cleared when another photo comes, so that none is shown beside the wrong photo)."""

    photo: gr.Image
    share: gr.Button
    results: list = field(default_factory=list)


def share_button() -> gr.Button:
    return gr.Button("Use this photo in every tab", size="sm", variant="secondary")


def share_photos(photos: list[SharedPhoto]) -> None:
    """Each tab's button puts its photo in every other tab (one upload, every tab) and clears the
    results those tabs made from their earlier photo; an upload clears its own tab's results."""
    for shared in photos:
        others = [p for p in photos if p is not shared]
        cleared = [result for p in others for result in p.results]
        shared.share.click(functools.partial(copies, len(others), len(cleared)), shared.photo,
                           [p.photo for p in others] + cleared, api_visibility="private", queue=False)
        if shared.results:
            shared.photo.upload(functools.partial(copies, 0, len(shared.results)), shared.photo, shared.results,
                                api_visibility="private", queue=False)


def copies(count: int, cleared: int, photo) -> list:
    """The photo `count` times, then nothing (None) for each of `cleared` results."""
    return [photo] * count + [None] * cleared
