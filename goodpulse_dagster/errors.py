"""Errors a user can fix: bad input, a missing file or column, wrong settings, a held lock.

Every such error is a ``UserError``: its message is one or two plain sentences that name the file,
line, column and value involved and say what to do. The CLI prints that message alone (no Python
traceback; ``--debug`` shows it), and Dagster's logs keep the full traceback. Any other exception
is a bug and is shown with its traceback.

A message never shows a secret embedded in a URL (``http://user:password@host``, a signed query):
``str()`` of every user error goes through ``settings.mask_url_secrets``, so the CLI, Dagster's
event log, the state file and the alerts all get the masked text.
"""

from __future__ import annotations


class UserError(Exception):
    """An error in the input, the settings or the environment, explained in its message."""

    def __str__(self) -> str:
        # Imported here: settings.py imports this module.
        from goodpulse_dagster.settings import mask_url_secrets

        return mask_url_secrets(super().__str__())


class UserInputError(UserError, ValueError):
    """A source file (or a row or value in it) cannot be used as it is."""


class UserSettingsError(UserError, ValueError):
    """A GOODPULSE_* setting (or a launchpad override) has a value that cannot be used."""
