"""The layout's rules (ARCHITECTURE.md), checked on the code itself."""

from __future__ import annotations

import ast
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import gridkit as gk

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gridkit"
GEO_STACK = ("geopandas", "shapely", "pyproj", "pandas", "numpy", "folium", "matplotlib", "dask")


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield path, name, ast.parse(path.read_text(encoding="utf-8"))


def _subpackage(module: str) -> str:
    """``gridkit.units.build`` -> ``units``; a base module ``gridkit.crs`` -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else ""


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_import_contracts_hold():
    from importlinter.cli import lint_imports

    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_no_private_name_crosses_a_subpackage():
    crossings = []
    for path, module, tree in _modules():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gridkit")):
                continue
            target = node.module
            private = [p for p in target.split(".") if _private(p)]
            private += [a.name for a in node.names if _private(a.name)]
            if private and _subpackage(target) != _subpackage(module):
                crossings.append(f"{path.relative_to(ROOT)}:{node.lineno} {target} {private}")
    assert crossings == []


def test_no_function_takes_more_than_eight_positional_parameters():
    wide = []
    for path, _, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = [*node.args.posonlyargs, *node.args.args]
                if args and args[0].arg in ("self", "cls"):
                    args = args[1:]
                if len(args) > 8:
                    wide.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} {len(args)}")
    assert wide == []


def test_package_face_is_small_and_concerns_are_folders():
    top = [p.name for p in PACKAGE.glob("*.py")]
    folders = [p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()]
    assert len(top) <= 12, top
    assert {"units", "grids", "coverage", "routing", "reach", "publish", "scale", "io",
            "synthetic", "cli"} <= set(folders)


def test_public_names_resolve_and_constants_stay_in_their_modules():
    assert len(gk.__all__) == len(set(gk.__all__))
    for name in gk.__all__:
        assert getattr(gk, name) is not None, name
    assert not [n for n in gk.__all__ if n.isupper()]  # no module constants on the face
    with pytest.warns(DeprecationWarning, match="gridkit.coverage.validate"):
        kinds = gk.KINDS
    from gridkit.coverage.validate import KINDS

    assert kinds is KINDS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gk.validate_coverage.__module__ == "gridkit.coverage.validate"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        gk.nope  # noqa: B018


def test_exceptions_live_in_one_module():
    classes = []
    for _, module, tree in _modules():
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and any(
                getattr(b, "id", "").endswith(("Error", "Warning", "Unavailable", "Failed"))
                for b in node.bases
            ):
                classes.append(module)
    assert set(classes) == {"gridkit.errors"}


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {GEO_STACK!r} if m in sys.modules))"
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return res.stdout.split()


def test_import_gridkit_and_help_load_no_geo_stack():
    assert _loaded_after("import gridkit") == []
    code = ("import contextlib, io\nfrom gridkit.cli.main import build_parser\n"
            "from gridkit.cli.commands import ORDER\np = build_parser()\n"
            "for c in [[], *[[n] for n in ORDER]]:\n"
            "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
            "        p.parse_args([*c, '--help'])")
    assert _loaded_after(code) == []


def test_cli_mirrors_of_library_constants_agree():
    from gridkit.cli.commands._common import _GROUP_LEVELS
    from gridkit.scale.pipeline import GROUP_LEVELS

    assert tuple(_GROUP_LEVELS) == tuple(GROUP_LEVELS)
    from gridkit.cli.commands import units
    from gridkit.units import noding

    assert units.MAX_CROSSINGS == noding.MAX_CROSSINGS


def test_typed_package_is_shipped():
    assert (PACKAGE / "py.typed").exists()
    cfg = (ROOT / "setup.cfg").read_text()
    assert "py.typed" in cfg
