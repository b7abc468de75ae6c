"""Headless Chromium for browser tests: Debian's ``chromium`` package driven by Python Playwright.

Playwright's own browser builds are never downloaded (``playwright install`` is not run, and many
sites block it); the tests use the distribution's Chromium at ``CHROMIUM_PATH`` instead
(``apt-get install -y chromium``; override with ``GOODPULSE_CHROMIUM``). When it or the Playwright
package is missing, tests skip with the reason from ``chromium_unavailable_reason()``.

Usage::

    from goodpulse_dagster_tests.browser import chromium_browser, requires_chromium

    @requires_chromium
    def test_page(tmp_path):
        with chromium_browser() as browser:
            page = browser.new_page()
            ...
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM_PATH = os.environ.get("GOODPULSE_CHROMIUM", "/usr/bin/chromium")
# Headless, no sandbox (containers run as root), and none of Chromium's own background traffic
# (component updates, sync, QUIC probes), so a test sees only the requests its page makes.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# URL schemes a self-contained page may load.
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")


def chromium_unavailable_reason() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    path = Path(CHROMIUM_PATH)
    if not (path.is_file() and os.access(path, os.X_OK)):
        return f"no Chromium executable at {CHROMIUM_PATH} (apt-get install -y chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "Python Playwright is not installed (pip install playwright; no browser download)"
    return None


def chromium_available() -> bool:
    """True when Debian's Chromium and Python Playwright are both present."""
    return chromium_unavailable_reason() is None


# Decorator for tests that need the browser.
requires_chromium = pytest.mark.skipif(
    not chromium_available(), reason=chromium_unavailable_reason() or ""
)


def launch_chromium(playwright, *, args: Sequence[str] = (), **kwargs):
    """Launch Debian's Chromium from a started Playwright (``sync_playwright()`` or async).

    Extra ``args`` are appended to ``CHROMIUM_ARGS``; other keyword arguments go to
    ``playwright.chromium.launch``. Returns the Playwright ``Browser``; close it when done.
    """
    return playwright.chromium.launch(
        executable_path=CHROMIUM_PATH, args=[*CHROMIUM_ARGS, *args], headless=True, **kwargs
    )


@contextmanager
def chromium_browser(**kwargs) -> Iterator[object]:
    """A launched Chromium ``Browser`` (sync API), closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, **kwargs)
        try:
            yield browser
        finally:
            browser.close()


def block_external_requests(page, allowed: Sequence[str] = LOCAL_SCHEMES) -> list[str]:
    """Abort every request of ``page`` whose URL does not start with one of ``allowed``.

    Returns the (live) list of blocked URLs, so a test can assert that a page fetched nothing
    from the network. Pass e.g. ``("http://127.0.0.1:3000",)`` plus ``LOCAL_SCHEMES`` to allow a
    local server.
    """
    blocked: list[str] = []

    def handle(route) -> None:
        url = route.request.url
        if url.startswith(tuple(allowed)):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page.route("**/*", handle)
    return blocked
