"""The offline plan with a release the size of the real charts: the dev stack plus a synthetic chart of
about 300 objects, CRDs of several MB among them (kube-prometheus-stack's are ~4 MB), rendered by real
Helm and put through every check. Reports the seconds of each phase, and the YAML reading and writing
against its peer - PyYAML's pure-Python loader and dumper, what the plan used before - on the same
documents.

Last line: BENCH plan objects=... crd_mb=... plan_s=... <phase>_s=... yaml_ours_s=... yaml_pure_s=... yaml_speedup=...
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import helm_python as helm
import yaml

from components.config.loader import check_stack
from components.config.stack_file import StackFile
from components.testing import Graph, run_program, run_stack
from offline import charts, manifests
from offline.pack_config import pack_config
from offline.plan import check

ROOT = Path(__file__).resolve().parent.parent


def synthetic_chart(directory: Path, copies: int, crds: int, crd_properties: int) -> Path:
    """A chart whose templates make `copies` x 6 objects (Deployment, Service, ConfigMap, ServiceAccount,
    Role, RoleBinding) and whose crds/ hold `crds` CRDs of `crd_properties` documented properties each."""
    chart = directory / "synthetic"
    (chart / "templates").mkdir(parents=True)
    (chart / "crds").mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: synthetic\nversion: 1.0.0\n")
    (chart / "values.yaml").write_text(f"copies: {copies}\nnodeSelector:\n  kubernetes.io/os: linux\n")
    (chart / "templates" / "objects.yaml").write_text(
        textwrap.dedent(
            """\
            {{- range $i := until (int .Values.copies) }}
            ---
            apiVersion: v1
            kind: ServiceAccount
            metadata: {name: "svc-{{ $i }}", labels: {app: "svc-{{ $i }}"}}
            automountServiceAccountToken: false
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: "svc-{{ $i }}-config"}
            data:
              config.yaml: |
                name: svc-{{ $i }}
                replicas: 2
                selector: {operator: =, values: [a, b]}
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: "svc-{{ $i }}", labels: {app: "svc-{{ $i }}"}}
            spec:
              replicas: 2
              selector: {matchLabels: {app: "svc-{{ $i }}"}}
              template:
                metadata: {labels: {app: "svc-{{ $i }}"}}
                spec:
                  serviceAccountName: "svc-{{ $i }}"
                  automountServiceAccountToken: false
                  securityContext: {runAsNonRoot: true, runAsUser: 65534, seccompProfile: {type: RuntimeDefault}}
                  nodeSelector: {{- toYaml $.Values.nodeSelector | nindent 20 }}
                  containers:
                    - name: app
                      image: "registry.example.com/svc@sha256:{{ printf "%064d" $i }}"
                      imagePullPolicy: Always
                      ports: [{containerPort: 8080, name: http}]
                      resources: {requests: {cpu: 10m, memory: 32Mi}, limits: {cpu: 100m, memory: 64Mi}}
                      securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
                      readinessProbe: {httpGet: {path: /ready, port: 8080}}
                      livenessProbe: {httpGet: {path: /live, port: 8080}}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: "svc-{{ $i }}"}
            spec:
              selector: {app: "svc-{{ $i }}"}
              ports: [{name: http, port: 80, targetPort: 8080}]
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: Role
            metadata: {name: "svc-{{ $i }}"}
            rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list, watch]}]
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: RoleBinding
            metadata: {name: "svc-{{ $i }}"}
            roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: "svc-{{ $i }}"}
            subjects: [{kind: ServiceAccount, name: "svc-{{ $i }}"}]
            {{- end }}
            """
        )
    )
    description = "A field described at length, as operator CRDs describe every field they carry. " * 3
    for n in range(crds):
        leaf = {"type": "string", "description": description, "enum": ["=", "!=", "In", "NotIn"]}
        nested = {
            f"field{j}": {"type": "object", "description": description, "properties": {"value": leaf}} for j in range(8)
        }
        properties = {
            f"property{k}": {"type": "object", "description": description, "properties": nested}
            for k in range(crd_properties)
        }
        crd = {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"things{n}.example.com"},
            "spec": {
                "group": "example.com",
                "names": {
                    "kind": f"Thing{n}",
                    "listKind": f"Thing{n}List",
                    "plural": f"things{n}",
                    "singular": f"thing{n}",
                },
                "scope": "Namespaced",
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "properties": {"spec": {"type": "object", "properties": properties}},
                            }
                        },
                    }
                ],
            },
        }
        # Written as charts write them: block YAML (no anchors), the operator enum's `=` bare.
        crd = json.loads(json.dumps(crd))
        text = yaml.dump(crd, Dumper=yaml.CSafeDumper, sort_keys=False, width=120)
        (chart / "crds" / f"things{n}.yaml").write_text(re.sub(r"(?m)^(\s*)- '='$", r"\1- =", text))
    return Path(helm.package(str(chart), destination=str(directory / "cache")))


RELEASE_PROGRAM = """\
import pulumi_kubernetes as k8s

k8s.helm.v3.Release("synthetic", name="synthetic", chart="synthetic", version="1.0.0",
                    repository_opts={"repo": "https://charts.example.com"}, namespace="synthetic", values={})
"""


def median_of(rounds: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plan", description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=50, help="object groups of 6 (default 50: 300 objects)")
    parser.add_argument("--crds", type=int, default=4, help="CRDs in the chart (default 4)")
    parser.add_argument(
        "--crd-properties", type=int, default=190, help="top-level properties per CRD (default 190: ~1.5 MB each)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="plans timed (median reported)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench" / "plan.json")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        archive = synthetic_chart(work, args.copies, args.crds, args.crd_properties)
        crd_mb = sum(p.stat().st_size for p in (work / "synthetic" / "crds").iterdir()) / 1e6
        program = work / "program" / "__main__.py"
        program.parent.mkdir()
        program.write_text(RELEASE_PROGRAM)
        stack = StackFile.load(ROOT / "Pulumi.dev.yaml")
        platform = check_stack(stack.config, stack.secret_keys)
        dev = run_stack("dev", root=ROOT)
        release = run_program(program, config={}, secret_keys=[], stack="dev")
        graph = Graph([*dev, *release], dev.outputs)

        results = []
        for round_ in range(args.rounds):
            started = time.perf_counter()
            result = check(
                graph, work / f"plan{round_}", pack=pack_config(platform), chart_cache=archive.parent, chart_lock={}
            )
            results.append((time.perf_counter() - started, result))
        total, result = sorted(results, key=lambda r: r[0])[len(results) // 2]
        (rendered,) = [r for r in result.charts if r.release.release == "synthetic"]
        if rendered.status != "rendered":
            print(f"the synthetic release was not rendered: {rendered.detail}", file=sys.stderr)
            return 1

        # The YAML the plan reads and writes, ours against PyYAML's pure-Python loader and dumper.
        with helm.Chart.load(archive) as chart:
            texts = [c["data"] for c in chart.crds] + list(
                chart.render({}, name="synthetic", namespace="synthetic").values()
            )
        split = [part for text in texts for part in charts.DOCUMENT_SEPARATOR.split(text) if part.strip()]

        class PureLoader(yaml.SafeLoader):
            pass

        PureLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))
        objects = [charts.load_yaml(p) for p in split]
        ours = median_of(args.rounds, lambda: [manifests.dump_yaml(charts.load_yaml(p)) for p in split])
        pure = median_of(
            args.rounds,
            lambda: [
                yaml.dump(yaml.load(p, Loader=PureLoader), Dumper=yaml.SafeDumper, sort_keys=False) for p in split
            ],
        )

    phases = {re.sub(r"[^a-z]+", "_", k.lower()).strip("_"): round(v, 2) for k, v in result.phases.items()}
    out = {
        "objects": len(rendered.objects),
        "platform_objects": len(list(dev.kubernetes_objects())),
        "crd_mb": round(crd_mb, 1),
        "plan_s": round(total, 2),
        "phases_s": phases,
        "yaml_documents": len(objects),
        "yaml_ours_s": round(ours, 2),
        "yaml_pure_s": round(pure, 2),
        "yaml_speedup": round(pure / ours, 1),
        "rounds": args.rounds,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    phase_text = " ".join(f"{k}_s={v}" for k, v in phases.items())
    print(
        f"BENCH plan objects={out['objects']} platform_objects={out['platform_objects']} crd_mb={out['crd_mb']} "
        f"plan_s={out['plan_s']} {phase_text} yaml_ours_s={out['yaml_ours_s']} yaml_pure_s={out['yaml_pure_s']} "
        f"yaml_speedup={out['yaml_speedup']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
