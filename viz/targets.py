"""What a user can point at: an ImageNet class (its logit), a channel `layer:channel`, or a whole layer.

Parsed once, here, for every view that takes targets (visualization, attribution).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InputError, quoted
from .model import Backbone, class_index, imagenet_labels, unit_weights

MAX_TARGETS = 8


@dataclass(frozen=True)
class Target:
    """One thing to look at: which unit (or layer) and how to caption it."""

    text: str  # as the user wrote it, normalized
    kind: str  # "class", "channel" or "layer"
    layer: str  # the layer the objective reads
    unit: int | None = None  # channel or class index


def parse_targets(backbone: Backbone, targets) -> list[Target]:
    """Targets from a comma-separated string or a list: classes, `layer:channel` or layer names."""
    items = [targets] if isinstance(targets, str) else list(targets or [])
    texts = [t.strip() for item in items for t in str(item).split(",") if t.strip()]
    if not texts:
        raise InputError("Give at least one target: an ImageNet class, a channel like block4_conv3:42, "
                         "or a layer name.")
    if len(texts) > MAX_TARGETS:
        raise InputError(f"At most {MAX_TARGETS} targets at once; got {len(texts)}.")
    return [parse_target(backbone, text) for text in texts]


def parse_target(backbone: Backbone, text: str) -> Target:
    """One target from its text, or an InputError that says what would work."""
    text = text.strip()
    if ":" in text:
        layer, _, channel = text.partition(":")
        layer = layer.strip()
        try:
            index = int(channel)
        except ValueError:
            raise InputError(f"In {quoted(text)}, the channel after ':' must be a whole number.") from None
        unit_weights(backbone, layer, index)  # checks the layer and the channel range
        return Target(f"{layer}:{index}", "channel", layer, index)
    if text in backbone.layer_names:
        return Target(text, "layer", text)
    if not backbone.has_classifier:
        if text.lower() in (label.lower() for label in imagenet_labels()):
            raise InputError(f"The class {quoted(text)} needs the ImageNet classifier, which these weights "
                             f"({backbone.source}) do not have. Channels such as block4_conv3:42 work.")
        raise InputError(f"Unknown target {quoted(text)}: use a layer name, a channel like block4_conv3:42, "
                         "or (with the ImageNet weights) a class name.")
    index = class_index(text)
    return Target(imagenet_labels()[index], "class", "predictions", index)
