"""The package's layout is its data flow: no module imports upward or sideways.

Modules are ranked by what they are: plain data and the table specs; the engine, settings and
files; storage; a layer's pure code (its parsing, cleaning, transforms, rendering); the shared
Dagster conventions; a layer's assets and checks; automation; the Definitions object; the CLI.
Layers are ordered by the way data flows through them. A module may import:

- from a lower rank;
- at its own rank, from its own layer or an earlier one (never a later one);
- within its layer, assets and checks only from the layer's pure code: a layer's checks never
  import its assets, nor its assets its checks (what both need lives in the spec or the layer's
  transforms).

Function-level imports count: a deferred import is still a dependency.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "goodpulse_dagster"
LAYERS = ("bronze", "silver", "quarantine", "gold", "kpi", "predictions", "report")
WRAPPERS = ("assets", "checks")
RANKS: dict[str, int] = {
    "errors": 0,
    "schema": 0,
    "params": 0,
    "partitions": 0,
    "settings": 1,
    "engine": 1,
    "sql_helpers": 1,
    "sql_params": 1,
    "atomic_files": 1,
    "lake_layout": 1,
    "memory_budget": 1,
    "sample_data": 2,
    "landing": 2,
    "resources": 2,
    "retries": 2,
    "charts": 2,
    "layer": 3,  # a layer's pure code
    # The Spark engine (issue 18): runs the gold, KPI and prediction models of those layers' pure
    # code on Spark, so it ranks with them and imports them as a later layer would.
    "spark": 3,
    "quality.rules": 3,
    "asset_conventions": 4,
    "quality": 4,
    "automation.conditions": 4,
    "run_trust": 4,
    "run_progress": 4,
    "layer.wrapper": 5,  # a layer's assets and checks
    # GOODPULSE_ENGINE=spark's assets and checks: built from the layers' assets and checks (their
    # specs and rules), so they rank with them.
    "spark.assets": 5,
    "spark.checks": 5,
    "automation": 6,
    "execution": 6,
    "definitions": 7,
    "cli": 8,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__")


def role(module: str) -> tuple[int, str | None, bool]:
    """(rank, layer or None, is a layer's assets/checks) of a package module."""
    head, _, rest = module.partition(".")
    leaf = rest.split(".")[0]
    if head in LAYERS:
        wrapper = leaf in WRAPPERS
        return RANKS["layer.wrapper" if wrapper else "layer"], head, wrapper
    for candidate in (f"{head}.{leaf}", head):
        if candidate in RANKS:
            return RANKS[candidate], None, False
    raise AssertionError(f"module {module} has no rank in test_import_rules.RANKS")


def imports(path: Path) -> set[str]:
    """The package modules ``path`` imports, at any depth."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from goodpulse_dagster.x import y`: y may be a module of package x.
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] != "goodpulse_dagster" or len(parts) == 1:
                continue
            target = PACKAGE.joinpath(*parts[1:])
            if target.with_suffix(".py").exists() or (target / "__init__.py").exists():
                found.add(".".join(parts[1:]))
    return found


def problem(importer: str, imported: str) -> str | None:
    """Why ``importer`` may not import ``imported``, or None when it may."""
    if importer == imported or importer.startswith(imported + "."):
        return None  # a module of a package importing the package itself
    rank, layer, wrapper = role(importer)
    other_rank, other_layer, other_wrapper = role(imported)
    if other_rank > rank:
        return "imports upward"
    if layer and other_layer and other_rank == rank:
        if LAYERS.index(other_layer) > LAYERS.index(layer):
            return "imports a later layer"
        same_layer_wrappers = other_layer == layer and wrapper and other_wrapper
        if same_layer_wrappers and importer.split(".")[1] != imported.split(".")[1]:
            return "imports sideways (a layer's assets and checks share only its pure code)"
    return None


def violations() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = module_name(path)
        for imported in sorted(imports(path)):
            why = problem(importer, imported)
            if why:
                out.append(f"{importer} {why}: {imported}")
    return out


def test_no_module_imports_upward_or_sideways():
    assert violations() == []


def test_the_rules_catch_what_they_are_for():
    # The three kinds the issue named: checks importing rules from assets, a sensor importing
    # transforms from assets, KPI borrowing engine helpers from gold (a pure module importing
    # the wrappers), plus an early layer reading a later one.
    assert problem("silver.checks", "silver.assets") is not None
    assert problem("automation.sensors", "silver.assets") is None  # downward: allowed
    assert problem("kpi.transforms", "gold.assets") == "imports upward"
    assert problem("silver.cleaning", "gold.transforms") == "imports a later layer"
    assert problem("bronze.parsing", "definitions") == "imports upward"
    # and what is allowed: a layer's wrappers use its pure code, later layers use earlier ones.
    assert problem("gold.assets", "gold.transforms") is None
    assert problem("kpi.transforms", "gold.as_of") is None
    assert problem("silver.checks", "quality.checks") is None
