"""The example photos, and one photo offered to every tab."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

ROOT = Path(__file__).resolve().parent.parent  # the repository, where examples/ lies
EXAMPLES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*.jpg"))
EXAMPLE = str(ROOT / "examples" / "cat.jpg")  # the photo of every tab's finished example


@dataclass
class SharedPhoto:
    """A tab's photo input and its button that offers the photo to every other tab."""

    photo: gr.Image
    share: gr.Button


def share_button() -> gr.Button:
    return gr.Button("Use this photo in every tab", size="sm", variant="secondary")


def share_photos(photos: list[SharedPhoto]) -> None:
    """Each tab's button puts its photo in every other tab (one upload, every tab)."""
    for shared in photos:
        others = [p.photo for p in photos if p is not shared]
        shared.share.click(functools.partial(copies, len(others)), shared.photo, others, api_visibility="private",
                           queue=False)


def copies(count: int, photo) -> list:
    return [photo] * count
