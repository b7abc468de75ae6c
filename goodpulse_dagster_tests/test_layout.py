"""The package's layout rules: only Dagster's public API is imported."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import goodpulse_dagster

PACKAGE = Path(goodpulse_dagster.__file__).parent
# dagster itself and its integration libraries (dagster_aws, dagster_duckdb, ...).
_DAGSTER_PACKAGE = re.compile(r"^dagster(_\w+)?$")


def _private_module(dotted: str) -> bool:
    """``dagster._core.x``, ``dagster_aws._utils``: a Dagster package's private module."""
    top, *rest = dotted.split(".")
    return bool(_DAGSTER_PACKAGE.match(top)) and any(part.startswith("_") for part in rest)


def private_dagster_imports(source: str) -> list[str]:
    """What ``source`` imports from a private Dagster module, one entry per import: ``import
    dagster._x``, ``from dagster._x import y``, ``from dagster import _x``, and a module named in
    a string (``importlib.import_module("dagster._x")``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if _private_module(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if _private_module(node.module):
                found.append(node.module)
            elif _DAGSTER_PACKAGE.match(node.module.split(".")[0]):
                found += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and re.fullmatch(r"[\w.]+", node.value)
            and _private_module(node.value)
        ):
            found.append(node.value)
    return found


def test_the_scan_finds_every_form_of_private_import():
    source = "\n".join(
        [
            "import dagster",
            "import dagster._core.instance",
            "from dagster._core.storage.db_io_manager import TableSlice",
            "from dagster import _check, asset",
            "from dagster_aws._utils import x",
            "import dagster_duckdb.io_manager",
            "from dagster_duckdb import DuckDBResource",
            "from . import _private_here",
            "importlib.import_module('dagster._utils.backoff')",
            "text = 'dagster._ is mentioned in a sentence'",
        ]
    )
    assert private_dagster_imports(source) == [
        "dagster._core.instance",
        "dagster._core.storage.db_io_manager",
        "dagster._check",
        "dagster_aws._utils",
        "dagster._utils.backoff",
    ]


def test_no_module_of_the_package_imports_a_private_dagster_module():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 50  # the whole package is scanned, not an empty folder
    offenders = {
        str(path.relative_to(PACKAGE)): found
        for path in modules
        if (found := private_dagster_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
