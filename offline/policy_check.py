"""Any Pulumi program (Python) through this project's policy pack, offline: the program runs under
Pulumi's mocks, the pack judges what it declares, as `pulumi preview --policy-pack policies` would.

    python -m offline.policy_check PROGRAM_DIR --pack-config FILE [--config Pulumi.<stack>.yaml]

PROGRAM_DIR holds the program's `__main__.py` (and its Pulumi.yaml, for the project's name). The pack
config is Pulumi's format (`{"all": "mandatory", "<policy>": level | {...}}`: policies/config/prod.json,
or what `python -m offline.pack_config` writes). `--config` is a stack file whose `config:` the program
reads. Prints every violation; exits 1 on a mandatory one, 2 when the program or its config fails.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from components.config import ConfigError
from components.testing import ProgramFailed, StackFile, run_program
from offline.policy_run import PolicyOutcome, evaluate, load_pack_config
from policies.rules import ALL_POLICIES


def project_name(program_dir: Path) -> str:
    settings = program_dir / "Pulumi.yaml"
    if settings.exists():
        document = yaml.safe_load(settings.read_text()) or {}
        if isinstance(document, dict) and document.get("name"):
            return str(document["name"])
    return program_dir.resolve().name


def check(
    program_dir: Path, pack: Mapping[str, Any], *, stack_file: Path | None = None, stack: str = "check"
) -> PolicyOutcome:
    """The pack's verdict on the program in `program_dir` (raises ProgramFailed if the program fails)."""
    loaded = StackFile.load(stack_file) if stack_file is not None else StackFile({}, [])
    sys.path.insert(0, str(program_dir.resolve()))  # the program's own modules, as the language host sees them
    try:
        graph = run_program(
            program_dir / "__main__.py",
            config=loaded.config,
            secret_keys=loaded.secret_keys,
            project=project_name(program_dir),
            stack=stack,
        )
    finally:
        sys.path.remove(str(program_dir.resolve()))
    return evaluate(graph, ALL_POLICIES, pack)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m offline.policy_check", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("program_dir", type=Path, help="directory holding the program's __main__.py")
    parser.add_argument("--pack-config", type=Path, required=True, help="the policy pack's config (Pulumi's format)")
    parser.add_argument("--config", type=Path, help="a Pulumi.<stack>.yaml whose config the program reads")
    parser.add_argument("--stack", default="check", help="stack name the program sees (default: check)")
    args = parser.parse_args(argv)
    if not (args.program_dir / "__main__.py").is_file():
        print(f"{args.program_dir}: no __main__.py (a Python Pulumi program directory)", file=sys.stderr)
        return 2
    if not args.pack_config.is_file():
        print(f"--pack-config {args.pack_config}: no such file", file=sys.stderr)
        return 2
    try:
        outcome = check(args.program_dir, load_pack_config(args.pack_config), stack_file=args.config, stack=args.stack)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    except ProgramFailed as failure:
        print(f"{args.program_dir}: the program failed: {failure.error}", file=sys.stderr)
        return 2
    except ValueError as error:  # a pack config the policies' schemas refuse
        print(error, file=sys.stderr)
        return 2
    for violation in outcome.violations:
        print(f"{violation.level.upper()} {violation.policy} ({violation.resource}): {violation.message}")
    for item in outcome.not_run:
        print(f"NOT RUN {item}")
    mandatory = len(outcome.mandatory())
    print(f"{len(outcome.violations)} violations, {mandatory} mandatory")
    return 1 if mandatory else 0


if __name__ == "__main__":
    sys.exit(main())
