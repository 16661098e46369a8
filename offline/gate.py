"""The review gate of a pull request, taken from its base branch: a pull request must not relax the
checks it is judged by.

    python3 base/offline/gate.py --base base --head head --install -o build/gate.md

compares the gate of two checkouts and, with --install, puts the base's gate into the head before
the head is planned: the policy pack and its config (`policies/`), the checkov skips, and the
generator of the pack config. What the pack imports from `components/` and the plan's own code
(`offline/`) run as the pull request has them - a change to either is called out with the rest.
The markdown written (empty when nothing differs) goes at the top of the report.

Standard library only: the preview workflow runs it from the base checkout before any environment
is installed.
"""

from __future__ import annotations

import argparse
import ast
import filecmp
import shutil
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

INSTALLED = ("policies", "offline/checkov_skips.yaml", "offline/pack_config.py")
"""Taken from the base branch: the pack, its config and the skips."""
PLAN_CODE = "offline"


def files(root: Path, entry: str) -> set[str]:
    """Relative paths of the files under `entry` (a file or a directory) in `root`."""
    path = root / entry
    if path.is_file():
        return {entry}
    if not path.is_dir():
        return set()
    return {
        p.relative_to(root).as_posix()
        for p in path.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")
    }


def pack_imports(root: Path) -> set[str]:
    """The modules of `components/` the pack imports, directly or through each other."""
    found: set[str] = set()
    queue = sorted(p for p in files(root, "policies") if p.endswith(".py"))
    seen: set[str] = set()
    while queue:
        current = queue.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            tree = ast.parse((root / current).read_text())
        except (OSError, SyntaxError):
            continue
        for module in imported(tree, current):
            if module.split(".")[0] != "components":
                continue
            for candidate in (f"{module.replace('.', '/')}.py", f"{module.replace('.', '/')}/__init__.py"):
                if (root / candidate).is_file():
                    found.add(candidate)
                    queue.append(candidate)
    return found


def imported(tree: ast.AST, path: str) -> Iterable[str]:
    """Every module a file (`path`, relative to the repository root) imports, relative imports resolved,
    each imported name also as a candidate submodule (`from . import k8s` -> `<package>.k8s`)."""
    package = path.rsplit("/", 1)[0].replace("/", ".")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def changes(base: Path, head: Path) -> list[tuple[str, str, str]]:
    """(path, how it changed, what it is) for every gate file that differs between the checkouts."""
    watched: dict[str, str] = {}
    for root in (base, head):
        for entry in INSTALLED:
            watched.update(dict.fromkeys(files(root, entry), "taken from the base branch"))
        for path in pack_imports(root) | files(root, PLAN_CODE):
            watched.setdefault(path, "runs as this pull request has it: review it")
    found = []
    for path, role in sorted(watched.items()):
        old, new = base / path, head / path
        if not old.exists():
            found.append((path, "added", role))
        elif not new.exists():
            found.append((path, "removed", role))
        elif not filecmp.cmp(old, new, shallow=False):
            found.append((path, "changed", role))
    return found


def notice(found: Sequence[tuple[str, str, str]]) -> str:
    if not found:
        return ""
    lines = [
        "> **This pull request changes the review gate.** The policy pack, its config and the checkov skips "
        "are taken from the base branch; the rest runs as changed.",
        ">",
        *[f"> - `{path}` {how} ({role})" for path, how, role in found],
    ]
    return "\n".join(lines) + "\n"


def install(base: Path, head: Path) -> None:
    """Replace the head's pack, pack config and skips with the base's."""
    for entry in INSTALLED:
        source, target = base / entry, head / entry
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, target)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="offline/gate.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", type=Path, required=True, help="checkout of the base branch")
    parser.add_argument("--head", type=Path, required=True, help="checkout of the pull request")
    parser.add_argument("--install", action="store_true", help="put the base's gate into the head")
    parser.add_argument("-o", "--out", type=Path, help="write the notice here (default: standard output)")
    args = parser.parse_args(argv)
    text = notice(changes(args.base, args.head))
    if args.install:
        install(args.base, args.head)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
