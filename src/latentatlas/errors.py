"""The exceptions that surfaces turn into an ``error:`` line and exit status 2."""


class UserError(Exception):
    """Bad input from the user: a missing dataset, a malformed file, an impossible option.

    The CLI prints ``error: <message>`` on one line and exits with status 2; the message must
    name what is wrong and, where there is one, the fix.
    """


class OptionError(UserError, ValueError):
    """A bad value of one named option (a keyword argument of the Python API).

    The library describes the value: ``str(e)`` is ``"latent_dim must be at least 1, got 0"``;
    the CLI names its flag instead: ``--latent-dim must be at least 1, got 0``.
    """

    def __init__(self, option: str, message: str):
        self.option, self.message = option, message
        super().__init__(f"{option} {message}")


class Interrupted(Exception):
    """Work stopped on Ctrl-C at a safe point; whatever it saved can be resumed (exit 130)."""
