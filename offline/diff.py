"""What a change deploys: two plans' resources.json compared the way the engine compares states.

A resource is known by its URN. Same URN (or an alias naming the old one): the same resource,
*updated* where its inputs differ. A URN that disappears is a *delete*, a new one a *create*; a
delete and a create of the same type under the same parent are one resource *replaced* (a rename:
Pulumi deletes the old and creates the new). A Kubernetes object whose name or namespace changes is
replaced too. Secrets are compared by the digests the plan records (of offline stand-in values,
never the values): shown as changed, never revealed.

Only custom resources are listed: components hold no cloud state (a renamed component shows as its
children replaced). Whether the provider carries out an update in place or by replacement is the
provider's to say (`pulumi preview` shows it); offline, an update is reported as an update.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Action = Literal["create", "update", "replace", "delete"]
SECRET = "[secret]"
KUBERNETES_IDENTITY = ("metadata.name", "metadata.namespace")
"""Inputs a Kubernetes object cannot change in place."""


@dataclass(frozen=True)
class PathChange:
    path: str
    old: Any
    new: Any
    secret: bool = False
    comparable: bool = True
    """False when a plan recorded no digest for the secret (older plans): it may or may not change."""

    def describe(self) -> str:
        if self.secret:
            return f"{self.path}: (secret) " + ("changed" if self.comparable else "not compared: no digest in one plan")
        if isinstance(self.old, str) and isinstance(self.new, str) and "\n" in self.old + self.new:
            return f"{self.path}: {_lines_changed(self.old, self.new)}"
        return f"{self.path}: {_show(self.old)} → {_show(self.new)}"


def _lines_changed(old: str, new: str, limit: int = 4) -> str:
    """A multi-line value (a config file in a ConfigMap) by the lines that differ."""
    lines = [
        line.rstrip()
        for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    shown = ", ".join(_show(f"{line[0]} {line[1:].strip()}") for line in lines[:limit])
    return f"lines {shown}" + (f" … {len(lines) - limit} more" if len(lines) > limit else "")


@dataclass(frozen=True)
class Change:
    action: Action
    type: str
    name: str
    urn: str
    """The resource's URN after the change (before it, for a delete)."""
    old_urn: str | None = None
    """For a replacement: the URN being deleted."""
    paths: tuple[PathChange, ...] = ()
    protected: bool = False
    """Protected (Pulumi's `protect`) in either plan: cluster, databases, caches, buckets, keys in prod."""
    reason: str = ""
    collision: bool = False
    """A Kubernetes object moved to a new URN without an alias: `pulumi up` would fail on it."""

    @property
    def destroys(self) -> bool:
        return self.action in ("delete", "replace")


@dataclass(frozen=True)
class Renamed:
    """A component whose URN changed: everything under it is replaced with it."""

    type: str
    old_name: str
    new_name: str
    resources: int
    """Custom resources under it that are replaced."""


@dataclass
class Diff:
    changes: list[Change] = field(default_factory=list)
    renamed: list[Renamed] = field(default_factory=list)

    def of(self, action: Action) -> list[Change]:
        return [c for c in self.changes if c.action == action]

    def counts(self) -> dict[str, int]:
        return {action: len(self.of(action)) for action in ("create", "update", "replace", "delete")}

    def protected_destroyed(self) -> list[Change]:
        """Protected resources this change would delete or replace: a plan with any fails."""
        return [c for c in self.changes if c.protected and c.destroys]

    def collisions(self) -> list[Change]:
        return [c for c in self.changes if c.collision]

    def summary(self) -> str:
        counts = self.counts()
        return ", ".join(f"{n} to {a}" for a, n in counts.items() if n) or "no changes"


def load(plan_dir: Path) -> list[dict[str, Any]]:
    path = plan_dir / "resources.json"
    if not path.exists():
        raise FileNotFoundError(f"{plan_dir} is not a plan directory: it has no resources.json (make plan OUT=...)")
    return list(json.loads(path.read_text()))


def compare(base: Sequence[Mapping[str, Any]], head: Sequence[Mapping[str, Any]]) -> Diff:
    """The changes that take the resources of `base` to those of `head` (resources.json entries)."""
    old = {e["urn"]: e for e in base}
    new = {e["urn"]: e for e in head}
    partner: dict[str, str] = {}
    """head URN -> the base URN of the same resource (same URN or an alias)."""
    for urn, entry in new.items():
        if urn in old:
            partner[urn] = urn
            continue
        aliased = [a for a in (entry.get("options") or {}).get("aliases", []) if a in old and a not in new]
        if aliased:
            partner[urn] = aliased[0]

    replaced: dict[str, str] = {}
    """head URN -> base URN it replaces (renamed: a delete and a create of one thing)."""
    claimed = set(partner.values())

    def depth(urn: str) -> int:
        parent = new[urn].get("parent")
        return 1 + depth(parent) if parent in new else 0

    for urn in sorted((u for u in new if u not in partner), key=lambda u: (depth(u), u)):
        entry = new[urn]
        parent = entry.get("parent")
        old_parent = partner.get(parent, replaced.get(parent, parent)) if parent else parent
        candidates = [
            b
            for b, e in old.items()
            if b not in claimed and b not in new and e["type"] == entry["type"] and e.get("parent") == old_parent
        ]
        if candidates:
            best = max(candidates, key=lambda b: difflib.SequenceMatcher(None, old[b]["name"], entry["name"]).ratio())
            replaced[urn] = best
            claimed.add(best)

    # A Kubernetes object that moves to a new URN without an alias: the engine creates the new resource
    # before deleting the old one, and the API server refuses the create (the object already exists).
    collides: dict[str, str] = {}
    """head URN -> base URN of the same Kubernetes object under another URN."""
    for urn, twin in list(replaced.items()):
        identity = _kubernetes_identity(new[urn])
        if identity is not None and identity == _kubernetes_identity(old[twin]):
            collides[urn] = replaced.pop(urn)
    unclaimed = {_kubernetes_identity(e): b for b, e in old.items() if b not in claimed and b not in new}
    for urn, entry in new.items():
        identity = _kubernetes_identity(entry)
        same = unclaimed.get(identity) if identity is not None else None
        if same is not None and same not in claimed and not any(urn in m for m in (partner, replaced, collides)):
            collides[urn] = same
            claimed.add(same)

    changes = []
    for urn, entry in new.items():
        if not _custom(entry):
            continue
        if urn in partner:
            before = old[partner[urn]]
            paths = property_changes(before, entry)
            if not paths:
                continue
            renamed = [p for p in paths if p.path in KUBERNETES_IDENTITY and entry["type"].startswith("kubernetes:")]
            action: Action = "replace" if renamed else "update"
            reason = f"{renamed[0].path} changed" if renamed else ""
            changes.append(_change(action, entry, before, paths=paths, reason=reason))
        elif urn in replaced or urn in collides:
            before = old[replaced.get(urn) or collides[urn]]
            reason = (
                f"same object as {before['name']} under a new URN: its create fails (already exists) "
                "unless the resource aliases the old URN"
                if urn in collides
                else f"renamed {before['name']} → {entry['name']}"
            )
            paths = property_changes(before, entry)
            changes.append(
                _change(
                    "replace",
                    entry,
                    before,
                    old_urn=before["urn"],
                    paths=paths,
                    reason=reason,
                    collision=urn in collides,
                )
            )
        else:
            changes.append(_change("create", entry, None))
    for urn, entry in old.items():
        if urn not in claimed and urn not in new and _custom(entry):
            changes.append(_change("delete", entry, entry))
    order = {"delete": 0, "replace": 1, "update": 2, "create": 3}

    def under(urn: str, ancestor: str) -> bool:
        parent = new[urn].get("parent")
        return parent == ancestor or (parent in new and under(parent, ancestor))

    renamed = [
        Renamed(
            new[urn]["type"],
            old[was]["name"],
            new[urn]["name"],
            sum(c.action == "replace" and under(c.urn, urn) for c in changes),
        )
        for urn, was in sorted(replaced.items())
        if not _custom(new[urn])
    ]
    return Diff(sorted(changes, key=lambda c: (not c.protected, order[c.action], c.urn)), renamed)


def _change(
    action: Action,
    entry: Mapping[str, Any],
    before: Mapping[str, Any] | None,
    *,
    old_urn: str | None = None,
    paths: Iterable[PathChange] = (),
    reason: str = "",
    collision: bool = False,
) -> Change:
    protected = any(bool((e.get("options") or {}).get("protect")) for e in (entry, before) if e is not None)
    return Change(
        action, entry["type"], entry["name"], entry["urn"], old_urn, tuple(paths), protected, reason, collision
    )


def _kubernetes_identity(entry: Mapping[str, Any]) -> tuple[str, str, str, str] | None:
    """apiVersion, kind, namespace, name of a Kubernetes object (None for anything else)."""
    inputs = entry.get("inputs") or {}
    meta = inputs.get("metadata") or {}
    if not entry["type"].startswith("kubernetes:") or "kind" not in inputs or not meta.get("name"):
        return None
    return (str(inputs.get("apiVersion")), str(inputs["kind"]), str(meta.get("namespace", "")), str(meta["name"]))


def _custom(entry: Mapping[str, Any]) -> bool:
    """Custom resources: a component's type has no provider module (`mlops:index:X`, `pulumi:pulumi:Stack`)."""
    package = entry["type"].split(":", 1)[0]
    return package not in ("pulumi", "mlops") and entry.get("custom", True) is not False


def property_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[PathChange]:
    """Input paths whose value differs, plus Pulumi's `protect`; secret paths by their digests."""
    old, new = flatten(before.get("inputs") or {}), flatten(after.get("inputs") or {})
    old_secrets, new_secrets = before.get("secrets") or {}, after.get("secrets") or {}
    found = []
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path, _ABSENT), new.get(path, _ABSENT)
        if a == b == SECRET:
            digests = old_secrets.get(path), new_secrets.get(path)
            if None in digests:
                found.append(PathChange(path, SECRET, SECRET, secret=True, comparable=False))
            elif digests[0] != digests[1]:
                found.append(PathChange(path, SECRET, SECRET, secret=True))
        elif a != b:
            found.append(PathChange(path, a, b))
    protect = [bool((e.get("options") or {}).get("protect")) for e in (before, after)]
    if protect[0] != protect[1]:
        found.append(PathChange("(option) protect", protect[0], protect[1]))
    return found


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


_ABSENT: Any = _Absent()


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf values by path: `spec.template.spec.containers[0].image`."""
    if isinstance(value, Mapping) and value:
        found: dict[str, Any] = {}
        for key, item in value.items():
            found.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return found
    if isinstance(value, list) and value:
        found = {}
        for index, item in enumerate(value):
            found.update(flatten(item, f"{prefix}[{index}]"))
        return found
    return {prefix: value}


def _show(value: Any, limit: int = 80) -> str:
    if value is _ABSENT:
        return "(absent)"
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render(diff: Diff, base: str, *, fails_on_protected: bool = True) -> list[str]:
    """The "Changes" section of a report (markdown lines)."""
    lines = ["## Changes", "", f"Against `{base}`: **{diff.summary()}** (custom resources; components hold no state)."]
    destroyed = diff.protected_destroyed()
    if destroyed and fails_on_protected:
        lines += [
            "",
            "**Protected resources would be deleted or replaced - this fails the plan:**",
            *[f"- {c.action} `{c.type}` {c.name}" + (f" ({c.reason})" if c.reason else "") for c in destroyed],
        ]
    if diff.collisions():
        lines += [
            "",
            "**Kubernetes objects moved to a new URN without an alias - `pulumi up` would fail on them:**",
            *[f"- `{c.type}` {c.name} (was {c.old_urn})" for c in diff.collisions()],
        ]
    if diff.renamed:
        lines += [
            "",
            "Components renamed - what they hold is deleted and created anew:",
            *[f"- `{r.type}` {r.old_name} → {r.new_name} ({r.resources} resources replaced)" for r in diff.renamed],
        ]
    if not diff.changes:
        return [*lines, ""]
    lines += ["", "| change | type | resource | what |", "|---|---|---|---|"]
    for change in diff.changes:
        what = [change.reason] if change.reason else []
        what += [p.describe() for p in change.paths[:8]]
        if len(change.paths) > 8:
            what.append(f"… {len(change.paths) - 8} more")
        flag = " (protected)" if change.protected else ""
        cell = "<br>".join(_cell(w) for w in what)
        lines.append(f"| {change.action}{flag} | `{change.type}` | {change.name} | {cell} |")
    lines += [
        "",
        "Offline, an update is shown as an update: whether the provider replaces the resource for it is "
        "what `pulumi preview` says (not checked here).",
        "",
    ]
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
