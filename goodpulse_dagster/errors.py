"""Errors a user can fix: bad input, a missing file or column, wrong settings, a held lock.

Every such error is a ``UserError``: its message is one or two plain sentences that name the file,
line, column and value involved and say what to do. The CLI prints that message alone (no Python
traceback; ``--debug`` shows it), and Dagster's logs keep the full traceback. Any other exception
is a bug and is shown with its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """An error in the input, the settings or the environment, explained in its message."""


class UserInputError(UserError, ValueError):
    """A source file (or a row or value in it) cannot be used as it is."""


class UserSettingsError(UserError, ValueError):
    """A GOODPULSE_* setting (or a launchpad override) has a value that cannot be used."""
