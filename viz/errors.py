"""The one exception type whose message is meant for people, and the checks that raise it."""

import html
from dataclasses import dataclass

QUOTE_LIMIT = 40  # characters of a person's value quoted back in a message
MAX_SEED = 2 ** 31 - 1


class InputError(ValueError):
    """A problem with what the user gave (image, parameter, name): the message says what and how to fix it."""


def quoted(value) -> str:
    """A value someone sent, as a message quotes it back: its repr, shortened, with HTML escaped (Gradio
    shows messages as HTML, where a quoted link or tag would otherwise be live)."""
    text = repr(value)
    if len(text) > QUOTE_LIMIT:
        text = text[:QUOTE_LIMIT - 1] + "…"
    return html.escape(text, quote=False)


def check_range(name: str, value, low, high):
    """`value` as a number of `low`'s type if it lies in [low, high]; otherwise an InputError naming the range."""
    try:
        number = type(low)(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number between {low} and {high}, not {quoted(value)}.") from None
    if not low <= number <= high or number != number:
        raise InputError(f"{name} must be between {low} and {high}; got {quoted(number)}.")
    return number


def check_choice(name: str, value, choices):
    """`value` if it is one of `choices`, else an InputError naming them."""
    if value not in choices:
        raise InputError(f"Unknown {name.lower()} {quoted(value)}: {name} must be one of {', '.join(choices)}.")
    return value


@dataclass(frozen=True)
class Range:
    """A number a person sets: its name, its bounds and its default, in one place. The analysis checks
    values with it, and the tab's widget, its label and the README's API table show the same numbers."""

    name: str  # as a message names it
    low: int | float
    high: int | float
    default: int | float | None = None  # None where the default depends on the weights (a default run)
    step: int | float = 1  # the widget's increment
    label: str | None = None  # the widget's, where it says more than the name

    def check(self, value):
        return check_range(self.name, value, self.low, self.high)


SEED = Range("Seed", 0, MAX_SEED, 0)
