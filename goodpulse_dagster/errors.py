"""Errors a user can fix: bad input, a missing file or column, wrong settings, a held lock.

Every such error is a ``UserError``: its message is one or two plain sentences that name the file,
line, column and value involved and say what to do. The CLI prints that message alone (no Python
traceback; ``--debug`` shows it), and Dagster's logs keep the full traceback. Any other exception
is a bug and is shown with its traceback.

A message never shows a secret embedded in a URL (``http://user:password@host``, a signed query):
``str()`` of every user error goes through ``mask_url_secrets``, so the CLI, Dagster's
event log, the state file and the alerts all get the masked text.
"""

from __future__ import annotations

import re

# --- Secrets in URLs -----------------------------------------------------------------------------

# `scheme://user:password@` (or `scheme://token@`): everything between `//` and the last `@`
# before the host's end. `?`, `#` and `/` end the search, so an `@` in a path or query is kept.
_URL_USERINFO = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)"  # http://, s3://, postgresql://, ...
    r"[^/?#\s@]+(?:@[^/?#\s@]*)*@"  # user:password@, up to the last @ (a password may hold @)
)
# Query parameters that carry a credential: presigned S3 URLs (X-Amz-Signature, -Credential,
# -Security-Token), Azure SAS (sig) and the usual password/token names.
_SECRET_PARAMS = re.compile(
    r"(?i)(?P<name>[?&](?:x-amz-signature|x-amz-credential|x-amz-security-token|signature|sig"
    r"|password|passwd|pwd|token|access_token|secret|api_key|apikey)=)[^&#\s'\"]+"
)
MASK = "***"


def mask_url_secrets(text: str) -> str:
    """``text`` with the credentials of every URL in it replaced by ``***``: the user info
    (``http://user:pass@host`` -> ``http://***@host``) and secret query parameters
    (``?X-Amz-Signature=abc`` -> ``?X-Amz-Signature=***``). Applied to every message GoodPulse
    prints, raises or sends, because error messages of boto3, DuckDB and urllib quote the URL
    they were given."""
    if not text:
        return text
    text = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    return _SECRET_PARAMS.sub(lambda m: f"{m.group('name')}{MASK}", text)


class UserError(Exception):
    """An error in the input, the settings or the environment, explained in its message."""

    def __str__(self) -> str:
        return mask_url_secrets(super().__str__())


class UserInputError(UserError, ValueError):
    """A source file (or a row or value in it) cannot be used as it is."""


class UserSettingsError(UserError, ValueError):
    """A GOODPULSE_* setting (or a launchpad override) has a value that cannot be used."""
