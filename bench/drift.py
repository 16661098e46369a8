"""Drift detection at scale: the drift monitor's statistics against Evidently's DataDriftPreset.

One run, same data, same method and threshold, several rounds, medians. Three variants, each
1,000,000 reference and 1,000,000 current rows x 20 features, half of them drifting clearly:

- drift: numeric (normal and uniform; means move, spreads double), PSI > 0.2;
- drift-categorical: string features (dictionary-encoded, as Parquet and Arrow store them) whose mix
  shifts, Jensen-Shannon distance > 0.1 (base 2; Evidently uses the natural log, so its threshold is
  0.1 * sqrt(ln 2): the same test). The monitor encodes a category once, when a record is read, and
  counts codes; here each dictionary entry is mapped once into the profile's vocabulary;
- drift-heavy-tailed: like `drift`, but half the features lognormal.

"Ours" is what the monitor does for a window: `apps.monitor.window.evaluate` (drift for every feature
and for the prediction, data quality) against the reference profile. The profile (quantile bins,
category frequencies, a sorted sample) is the training run's artifact, built once per model version;
its build time is measured too, with the speedup left when it is counted (`speedup_incl_profile`),
since Evidently starts from the raw reference every time. Agreement is the share of features given
the same verdict by both; each is also checked against the known truth. The floor is one numpy pass
over the same current data (a column sum; for strings, hashing each once): no drift computation
reads the data faster.

PSI's binning differs by design: we bin by reference deciles, fixed in the profile; Evidently bins
equal-width over reference and current together (Sturges). On bounded, light-tailed data both see
the same drift. On heavy tails, equal-width bins put nearly everything in the first bin, so
Evidently's PSI depends on the sample's extreme values - the heavy-tailed variant shows it.

Categorical features: each side gets the data as it holds it. The reference is written to a Delta table
and read back the way the training run reads it (`apps.training.data.load`): the contract's categorical
columns come straight from Parquet's dictionary pages as pandas categoricals, so the profile (`profile_s`)
counts codes and hashes no string; `profile_text_s` is the same build from plain strings, for comparison.
The current window holds codes too: the monitor encodes a value once, when it reads a record (a
dictionary lookup in the parse it does anyway), and `ours_s` evaluates that; `encode_s` is what encoding
all the current strings in one go costs (`speedup_incl_encoding` counts it). Evidently gets string
frames, as pandas reads the table (`evidently_s`), and - like for like - the same data dictionary-encoded
(pandas `category`, encoded before the clock starts: `evidently_dictionary_s`), where it is an order of
magnitude faster; `speedup_dictionary_incl_profile` compares that with ours, both starting from codes.

Last line: BENCH drift rows=... features=... ours_s=... evidently_s=... speedup=... agreement=...
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlops_platform.contracts import Column, DataContract

from apps.common.profile import ReferenceProfile
from apps.monitor.config import MethodConfig, Methods, MonitorConfig
from apps.monitor.window import OK, Records, Vocabulary, evaluate, vocabularies
from apps.training.data import load, write_version

ROOT = Path(__file__).resolve().parents[1]
PSI_THRESHOLD = 0.2
JS_THRESHOLD = 0.1
CATEGORIES = np.array(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"], dtype=object)


def numeric_data(
    rows: int, features: int, seed: int, heavy_tails: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame, list[bool]]:
    """Reference and current frames; every second feature drifts. Normal and uniform features move
    their mean by 0.8 sd, or double their spread. With `heavy_tails`, half the features are
    lognormal instead, the drifting ones doubling their log-spread."""
    rng = np.random.default_rng(seed)
    reference, current, truth = {}, {}, []
    for i in range(features):
        name = f"f{i:02d}"
        drifts = i % 2 == 1
        kind = i % 4
        if heavy_tails and kind >= 2:
            reference[name] = rng.lognormal(0, 0.5, rows)
            current[name] = rng.lognormal(0, 1.0 if drifts else 0.5, rows)
        elif kind < 2:  # normal: the mean moves
            reference[name] = rng.normal(0, 1, rows)
            current[name] = rng.normal(0.8 if drifts else 0, 1, rows)
        elif kind == 2:  # normal: the spread doubles
            reference[name] = rng.normal(0, 1, rows)
            current[name] = rng.normal(0, 2.0 if drifts else 1.0, rows)
        else:  # uniform: the range doubles
            reference[name] = rng.uniform(-1, 1, rows)
            current[name] = rng.uniform(-2, 2, rows) if drifts else rng.uniform(-1, 1, rows)
        truth.append(drifts)
    return pd.DataFrame(reference), pd.DataFrame(current), truth


def categorical_data(rows: int, features: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, list[bool]]:
    """Every second feature shifts its category mix (and, for some, gains an unseen category). Strings,
    as records bring them."""
    rng = np.random.default_rng(seed)
    base = np.array([0.30, 0.25, 0.20, 0.15, 0.10, 0.0])
    shifted = np.array([0.10, 0.15, 0.20, 0.25, 0.25, 0.05])
    reference, current, truth = {}, {}, []
    for i in range(features):
        drifts = i % 2 == 1
        reference[f"c{i:02d}"] = rng.choice(CATEGORIES, rows, p=base)
        current[f"c{i:02d}"] = rng.choice(CATEGORIES, rows, p=shifted if drifts else base)
        truth.append(drifts)
    return pd.DataFrame(reference), pd.DataFrame(current), truth


def encoded(profile: ReferenceProfile, current: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict[str, Vocabulary]]:
    """The current strings as the monitor holds them: codes into the profile's vocabularies, assigned
    once per record when it is read (apps/monitor/window.py parse_batch). Here in one vectorised go."""
    encoding = vocabularies(profile)
    found = {}
    for name in current.columns:
        codes, distinct = pd.factorize(current[name].to_numpy(dtype=object))
        remap = np.array([*(encoding[name].code(str(v)) for v in distinct), -1], dtype=np.int32)
        found[name] = remap[codes]
    return found, encoding


def score(frame: pd.DataFrame) -> np.ndarray:
    """A stand-in model output, so the monitor also computes prediction drift as it does in service."""
    first = frame.iloc[:, 0]
    values = first.to_numpy(dtype=np.float64) if first.dtype.kind == "f" else (first == CATEGORIES[0]).to_numpy(float)  # type: ignore[union-attr]
    return 1 / (1 + np.exp(-values))


def profile_of(reference: pd.DataFrame, kind: str) -> ReferenceProfile:
    """What the training run writes for the monitor."""
    columns = tuple(Column(name=n, kind=kind) for n in reference.columns)
    contract = DataContract(columns=(*columns, Column(name="label", role="label")))
    return ReferenceProfile.build("bench", contract, reference, score(reference))


def window_of(profile: ReferenceProfile, current: pd.DataFrame, kind: str, codes: Any = None) -> Records:
    """The current data as the monitor's window holds it when a window is due: records already read
    (categorical values encoded, predictions and statuses stored as they arrived)."""
    encoding: dict[str, Vocabulary] = {}
    if kind == "numeric":
        features = {n: current[n].to_numpy(dtype=np.float64) for n in current.columns}
    else:
        features, encoding = codes if codes is not None else encoded(profile, current)
    return Records(
        features=features,
        status={n: np.full(len(current), OK, dtype=np.int8) for n in current.columns},
        predictions=score(current),
        versions=np.full(len(current), "1", dtype=object),
        request_ids=np.arange(len(current)),
        vocabularies=encoding,
    )


CONFIG = MonitorConfig(
    model_name="bench",
    methods=Methods(
        numeric=MethodConfig(method="psi", threshold=PSI_THRESHOLD),
        categorical=MethodConfig(method="jensenshannon", threshold=JS_THRESHOLD),
        extra_numeric=(),
        extra_categorical=(),
    ),
)


def ours(profile: ReferenceProfile, window: Records) -> dict[str, bool]:
    """Evaluate a window against the profile exactly as the monitor does (drift of every feature and of
    the prediction, data quality per feature and pooled, performance)."""
    result = evaluate(1, window, profile, CONFIG, None)
    return {f.feature: f.drifted for f in result.features}


def evidently(reference: pd.DataFrame, current: pd.DataFrame, kind: str) -> dict[str, bool]:
    # Evidently is the peer under test, not a dependency of the monitor: loaded only when compared.
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    names = list(reference.columns)
    if kind == "numeric":
        definition = DataDefinition(numerical_columns=names)
        preset = DataDriftPreset(num_method="psi", num_threshold=PSI_THRESHOLD)
        threshold = PSI_THRESHOLD
    else:
        definition = DataDefinition(categorical_columns=names)
        threshold = JS_THRESHOLD * math.sqrt(math.log(2))
        preset = DataDriftPreset(cat_method="jensenshannon", cat_threshold=threshold)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snapshot = Report([preset]).run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        )
    values = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        if config.get("type", "").endswith("ValueDrift") and config.get("column") in names:
            values[config["column"]] = float(metric["value"])
    if set(values) != set(names):
        raise RuntimeError(f"Evidently reported drift for {sorted(values)}, expected {names}")
    return {name: value >= threshold for name, value in values.items()}  # Evidently's own comparison


def numpy_floor(current: pd.DataFrame, kind: str) -> float:
    """One pass over the current data: the least any drift computation must do."""
    if kind == "numeric":
        matrix = current.to_numpy(dtype=np.float64)
        started = time.perf_counter()
        matrix.sum(axis=0)
    else:
        columns = [current[n].to_numpy(dtype=object) for n in current.columns]
        started = time.perf_counter()
        for column in columns:
            pd.factorize(column)  # hashing every string once
    return time.perf_counter() - started


def timed(call: Callable[[], Any], rounds: int) -> tuple[float, list[float], Any]:
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times, result


VARIANTS: dict[str, tuple[str, Callable[[int, int, int], tuple[pd.DataFrame, pd.DataFrame, list[bool]]]]] = {
    "drift-categorical": ("categorical", categorical_data),
    "drift-heavy-tailed": (
        "numeric",
        lambda rows, features, seed: numeric_data(rows, features, seed, heavy_tails=True),
    ),
    "drift": ("numeric", numeric_data),
}
"""Label in the BENCH line -> (feature kind, data). The plain numeric one is last: its line ends the output."""


def as_training_reads(reference: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The reference written to a Delta table and read back as the training run reads it (categorical
    columns dictionary-encoded)."""
    with tempfile.TemporaryDirectory() as table:
        write_version(table, reference)
        return load(table, categorical=list(reference.columns) if kind == "categorical" else ()).frame


def compare(variant: str, rows: int, features: int, rounds: int, evidently_rounds: int) -> dict[str, Any]:
    kind, make = VARIANTS[variant]
    reference, current, truth = make(rows, features, 42)
    stored = as_training_reads(reference, kind)
    profile_s, profile_times, profile = timed(lambda: profile_of(stored, kind), rounds)
    encode_s, _, codes = timed(lambda: encoded(profile, current) if kind == "categorical" else None, rounds)
    window = window_of(profile, current, kind, codes)
    ours_s, ours_times, our_verdicts = timed(lambda: ours(profile, window), rounds)
    evidently_s, evidently_times, their_verdicts = timed(lambda: evidently(reference, current, kind), evidently_rounds)
    floor_s, _, _ = timed(lambda: numpy_floor(current, kind), rounds)
    dictionary_s = profile_text_s = None
    if kind == "categorical":
        profile_text_s, _, _ = timed(lambda: profile_of(reference, kind), rounds)
        current_codes = current.astype("category")  # both sides start from codes
        dictionary_s, _, _ = timed(lambda: evidently(stored, current_codes, kind), evidently_rounds)
    names = list(reference.columns)
    agreement = sum(our_verdicts[n] == their_verdicts[n] for n in names) / len(names)
    return {
        "variant": variant,
        "kind": kind,
        "rows": rows,
        "features": features,
        "ours_s": ours_s,
        "ours_rounds_s": ours_times,
        "profile_s": profile_s,
        "profile_rounds_s": profile_times,
        "evidently_s": evidently_s,
        "evidently_rounds_s": evidently_times,
        "numpy_pass_s": floor_s,
        "speedup": evidently_s / ours_s,
        "speedup_incl_profile": evidently_s / (ours_s + profile_s),
        "profile_text_s": profile_text_s,
        "encode_s": encode_s if kind == "categorical" else 0.0,
        "speedup_incl_encoding": evidently_s / (ours_s + (encode_s if kind == "categorical" else 0.0)),
        "evidently_dictionary_s": dictionary_s,
        "speedup_vs_dictionary": dictionary_s / ours_s if dictionary_s else None,
        "speedup_dictionary_incl_profile": dictionary_s / (ours_s + profile_s) if dictionary_s else None,
        "ours_over_floor": ours_s / floor_s if floor_s else None,
        "agreement": agreement,
        "ours_match_truth": sum(our_verdicts[n] == t for n, t in zip(names, truth, strict=True)) / len(names),
        "evidently_match_truth": sum(their_verdicts[n] == t for n, t in zip(names, truth, strict=True)) / len(names),
    }


def line(result: dict[str, Any], label: str) -> str:
    return (
        f"BENCH {label} rows={result['rows']} features={result['features']} ours_s={result['ours_s']:.3f} "
        f"evidently_s={result['evidently_s']:.3f} speedup={result['speedup']:.0f} agreement={result['agreement']:.2f} "
        f"profile_s={result['profile_s']:.3f} speedup_incl_profile={result['speedup_incl_profile']:.0f} "
        f"numpy_pass_s={result['numpy_pass_s']:.4f}"
        + (
            f" encode_s={result['encode_s']:.3f} speedup_incl_encoding={result['speedup_incl_encoding']:.0f}"
            f" profile_text_s={result['profile_text_s']:.3f}"
            f" evidently_dictionary_s={result['evidently_dictionary_s']:.3f}"
            f" speedup_vs_dictionary={result['speedup_vs_dictionary']:.0f}"
            f" speedup_dictionary_incl_profile={result['speedup_dictionary_incl_profile']:.0f}"
            if result["kind"] == "categorical"
            else ""
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.drift", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of ours and of the numpy pass")
    parser.add_argument("--evidently-rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench" / "drift.json")
    args = parser.parse_args(argv)
    results = {}
    for variant in VARIANTS:
        result = compare(variant, args.rows, args.features, args.rounds, args.evidently_rounds)
        results[variant] = result
        print(
            f"{variant}: ours {result['ours_s']:.3f}s (+ {result['profile_s']:.3f}s to build the profile, once per model), "
            f"Evidently {result['evidently_s']:.3f}s, one numpy pass {result['numpy_pass_s']:.4f}s "
            f"(ours = {result['ours_over_floor']:.1f}x the pass); verdicts right: ours {result['ours_match_truth']:.2f}, "
            f"Evidently {result['evidently_match_truth']:.2f}",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    for variant, result in results.items():
        print(line(result, variant))
    return 0 if results["drift"]["agreement"] == 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
