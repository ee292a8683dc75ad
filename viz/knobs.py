"""The contract of an analysis: one frozen run object whose fields are the knobs a person sets.

A numeric field is `knob(RANGE)`: its default and its bounds are the Range's, written once. A field
of named options is `choice(OPTIONS)`: its default is the first option unless told. `Knobs.checked()`
holds every such field to its bounds or options (an InputError that names it otherwise), and
`Knobs.of(values)` builds a run from a form's values by name, so that no caller repeats a default.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from .errors import Range, check_choice


def knob(setting: Range):
    """A run object's field for a number a person sets: the Range's default, checked against its bounds."""
    return field(default=setting.default, metadata={"range": setting})


def choice(name: str, options, default=None):
    """A run object's field for one of `options` (the first by default), checked by name."""
    return field(default=options[0] if default is None else default, metadata={"choices": tuple(options),
                                                                             "name": name})


@dataclass(frozen=True)
class Knobs:
    """Base of the analyses' run objects (see the module's docstring)."""

    def checked(self):
        """The same run with every knob within its Range (as the Range's number type) and every choice
        among its options; an InputError naming the first that is not."""
        changes = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if "range" in item.metadata:
                changes[item.name] = item.metadata["range"].check(value)
            elif "choices" in item.metadata:
                check_choice(item.metadata["name"], value, item.metadata["choices"])
        return replace(self, **changes)

    @classmethod
    def of(cls, values: dict, **given):
        """A run from a form's values by name (names that are not fields are left out, and so are
        None values: the field's default then holds), with `given` fields set as they are."""
        names = {item.name for item in fields(cls)}
        chosen = {k: v for k, v in values.items() if k in names and v is not None}
        return cls(**{**chosen, **given})
