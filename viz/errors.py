"""The one exception type whose message is meant for people, and the checks that raise it."""


class InputError(ValueError):
    """A problem with what the user gave (image, parameter, name): the message says what and how to fix it."""


def check_range(name: str, value, low, high):
    """`value` as a number of `low`'s type if it lies in [low, high]; otherwise an InputError naming the range."""
    try:
        number = type(low)(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number between {low} and {high}, not {value!r}.") from None
    if not low <= number <= high or number != number:
        raise InputError(f"{name} must be between {low} and {high}; got {value}.")
    return number


def check_choice(name: str, value, choices) -> None:
    """An InputError naming the choices unless `value` is one of them."""
    if value not in choices:
        raise InputError(f"Unknown {name.lower()} {value!r}: {name} must be one of {', '.join(choices)}.")
