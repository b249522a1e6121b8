"""The dependency direction calib <- fusionlabel <- formats <- gui, checked on the import graph."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QT_GL = {"PyQt6", "PyQt5", "PySide6", "PySide2", "vispy", "OpenGL", "pyqtgraph"}


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module imported anywhere in a file (function bodies included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
            "import_module",
            "__import__",
        ):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                names.add(node.args[0].value.split(".")[0])
    return names


def package_files(pkg: str) -> list[Path]:
    return sorted((ROOT / pkg).rglob("*.py"))


def violations(pkg: str, forbidden: set[str], exempt: set[str] = frozenset()) -> list[str]:
    out = []
    for f in package_files(pkg):
        rel = f.relative_to(ROOT).as_posix()
        if rel in exempt:
            continue
        bad = imported_modules(f) & forbidden
        if bad:
            out.append(f"{rel} imports {sorted(bad)}")
    return out


def test_calib_imports_nothing_of_ours_nor_qt() -> None:
    assert violations("calib", QT_GL | {"fusionlabel", "formats", "gui"}) == []


def test_core_is_free_of_qt_gl_formats_and_gui() -> None:
    assert violations("fusionlabel", QT_GL) == []
    assert violations("fusionlabel", {"formats", "gui"}, exempt={"fusionlabel/cli.py"}) == []


def test_formats_do_not_import_gui_or_qt() -> None:
    assert violations("formats", QT_GL | {"gui"}) == []


def test_only_gui_render_imports_vispy() -> None:
    bad = [
        v
        for v in violations("gui", {"vispy", "OpenGL"})
        if not v.startswith("gui/render")
    ]
    assert bad == []


def test_cli_imports_formats_and_gui_lazily() -> None:
    cli = ROOT / "fusionlabel" / "cli.py"
    if not cli.exists():
        pytest.skip("no cli yet")
    tree = ast.parse(cli.read_text(encoding="utf-8"))
    top_level = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top_level.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            top_level.add(node.module.split(".")[0])
    assert not top_level & ({"formats", "gui"} | QT_GL)


def test_checker_sees_a_violation(tmp_path: Path) -> None:
    """The checker itself must detect a forbidden import, including one inside a function."""
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from PyQt6 import QtCore\n    import formats.native\n")
    assert {"PyQt6", "formats"} <= imported_modules(f)
