"""The analyses' run objects: every knob written once, checked against its Range, built from a form by name."""

from dataclasses import dataclass

import pytest

from viz.errors import InputError, Range
from viz.knobs import Knobs, choice, knob

STEPS = Range("Steps", 1, 100, 20)


@dataclass(frozen=True)
class Toy(Knobs):
    steps: int = knob(STEPS)
    mode: str = choice("Mode", ("fast", "slow"))
    note: str = ""


def test_a_knob_takes_its_default_from_its_range_and_is_checked_against_it():
    assert Toy().steps == 20 and Toy().mode == "fast"
    assert Toy(steps=7.0).checked().steps == 7 and isinstance(Toy(steps=7.0).checked().steps, int)
    with pytest.raises(InputError, match="Steps must be between 1 and 100"):
        Toy(steps=500).checked()
    with pytest.raises(InputError, match="Unknown mode 'warp': Mode must be one of fast, slow"):
        Toy(mode="warp").checked()


def test_a_run_is_built_from_a_form_by_name():
    run = Toy.of({"steps": 5, "image": "photo.png", "mode": None}, note="given")
    assert run == Toy(steps=5, mode="fast", note="given")  # unknown names left out, None: the default
