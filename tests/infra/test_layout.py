"""The layout shows the architecture (README "Layout"): the import graph, read from the source, runs one
way - apps/ never reaches into components/, components/ never into provider/ or offline/, and each
folder of components/ imports only the folders below it."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from offline.gate import imported

ROOT = Path(__file__).resolve().parents[2]

FOLDERS_BELOW = {
    "kit": set(),
    "cluster": {"kit"},
    "data": {"kit", "cluster"},
    "services": {"kit", "cluster", "data"},
}
"""Each folder of components/ -> the folders it may import (besides itself), as its docstring says."""

THIRD_PARTY_CONTRACTS = {"pydantic", "yaml"}
"""All the contracts distribution depends on (contracts/pyproject.toml)."""


def sources(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def imports(path: Path) -> Iterator[str]:
    """Every module `path` imports, as the review gate reads them (offline/gate.py)."""
    yield from imported(ast.parse(path.read_text(), str(path)), path.relative_to(ROOT).as_posix())


def in_tree(name: str, top: str) -> bool:
    return name == top or name.startswith(f"{top}.") or name.startswith(f"mlops_platform.{top}")


def test_the_import_reader_sees_relative_and_absolute_imports(tmp_path: Path) -> None:
    """The rules below can fail: the reader resolves the forms the code uses."""
    probe = ROOT / "components" / "kit" / "workload.py"
    found = set(imports(probe))
    assert {"components.kit.k8s", "components.kit.common", "components.kit.identity"} <= found


APP_BENCHMARKS = ("bench/serving.py", "bench/drift.py", "bench/performance.py")
"""Benchmarks of the apps, run in the apps' environment (bench/plan.py is the plan's own)."""


@pytest.mark.parametrize("files", ["apps", "app benchmarks"])
def test_apps_import_the_contracts_and_nothing_of_components(files: str) -> None:
    paths = sources("apps") if files == "apps" else [ROOT / b for b in APP_BENCHMARKS]
    offending = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in paths
        for name in imports(path)
        if in_tree(name, "components") or in_tree(name, "provider") or in_tree(name, "offline")
    ]
    assert offending == []
    assert any(in_tree(name, "contracts") for path in sources("apps") for name in imports(path))
    assert sorted(
        str(p.relative_to(ROOT)) for p in sources("bench") if p.name not in ("__init__.py", "plan.py")
    ) == sorted(APP_BENCHMARKS), "a new benchmark of the apps is listed in APP_BENCHMARKS"


def test_components_know_neither_the_package_nor_the_offline_plan() -> None:
    offending = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sources("components")
        for name in imports(path)
        if in_tree(name, "provider") or in_tree(name, "offline") or in_tree(name, "policies")
    ]
    assert offending == []


@pytest.mark.parametrize("folder", sorted(FOLDERS_BELOW))
def test_each_folder_imports_only_the_folders_below_it(folder: str) -> None:
    allowed = {folder} | FOLDERS_BELOW[folder]
    offending = []
    for path in sources(f"components/{folder}"):
        for name in imports(path):
            parts = name.split(".")
            if parts[0] != "components" or len(parts) < 2 or not (ROOT / "components" / parts[1]).is_dir():
                continue
            if parts[1] not in allowed:
                offending.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offending == [], f"components/{folder}/ may import only {sorted(allowed)}"
    doc = ast.get_docstring(ast.parse((ROOT / "components" / folder / "__init__.py").read_text()))
    assert doc, f"components/{folder}/__init__.py says what lives there and what it may import"
    below = FOLDERS_BELOW[folder]
    said = (
        "imports nothing else" if not below else ", ".join(f"`{b}/`" for b in ("kit", "cluster", "data") if b in below)
    )
    assert said.split(", ")[0] in doc, f"components/{folder}/__init__.py names what it may import"


def test_the_contracts_need_only_pydantic_and_pyyaml() -> None:
    import sys

    outside = {
        name.split(".")[0]
        for path in sources("contracts")
        for name in imports(path)
        if name.split(".")[0] not in sys.stdlib_module_names
        and name != "__future__"
        and not name.startswith("__future__.")
    }
    assert outside <= THIRD_PARTY_CONTRACTS, outside


def test_every_module_of_components_lives_in_a_folder() -> None:
    """Only the composition, the harness and the package marker stay at the top."""
    top = sorted(p.name for p in (ROOT / "components").glob("*.py"))
    assert top == ["__init__.py", "platform.py", "testing.py"]
    folders = sorted(p.name for p in (ROOT / "components").iterdir() if p.is_dir() and p.name != "__pycache__")
    assert folders == sorted([*FOLDERS_BELOW, "config", "assets"])


def test_readme_layout_has_a_line_per_folder() -> None:
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout") :].split("```")[1]
    for folder in [*FOLDERS_BELOW, "config", "assets"]:
        assert f"  {folder}/ " in layout, f"README's Layout shows components/{folder}/"
    for top in ("contracts/", "provider/", "components/", "apps/", "offline/", "policies/"):
        assert f"\n{top} " in layout, f"README's Layout shows {top}"
