"""The one exception type whose message is meant for people."""


class InputError(ValueError):
    """A problem with what the user gave (image, parameter, name): the message says what and how to fix it."""
