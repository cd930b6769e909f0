"""The one exception type that surfaces turn into an ``error:`` line and exit status 2."""


class UserError(Exception):
    """Bad input from the user: a missing dataset, a malformed file, an impossible option.

    The CLI prints ``error: <message>`` on one line and exits with status 2; the message must
    name what is wrong and, where there is one, the fix.
    """


class Interrupted(Exception):
    """Work stopped on Ctrl-C at a safe point; whatever it saved can be resumed (exit 130)."""
