"""A compiled inference path for the training pipeline's shape, verified against it at load.

The registered model is a scikit-learn Pipeline: ColumnTransformer(StandardScaler on the numeric
features, OneHotEncoder(handle_unknown="ignore") on the categorical ones) followed by a binary
HistGradientBoostingClassifier. scikit-learn spends ~4 ms per call on that pipeline whatever the
batch size - Python-level work per transformer and per tree. Here the same fitted parameters
(scaler means and scales, one-hot categories, every tree's nodes) are laid out as flat arrays and
evaluated with a handful of numpy operations for the whole batch and all trees at once.

It is an optimisation, never a second source of truth: `compile_pipeline` only accepts exactly
this shape, and `verify` requires the compiled path to match scikit-learn on a probe batch
(random values, unseen categories, missing values) before the predictor may use it; otherwise the
predictor calls the pipeline itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

TOLERANCE = 1e-9


@dataclass(frozen=True)
class CompiledPipeline:
    numeric: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    categorical: tuple[str, ...]
    categories: tuple[dict[str, int], ...]
    """Per categorical feature: category -> one-hot column offset within its block."""
    widths: tuple[int, ...]
    baseline: float
    roots: np.ndarray
    """Global index of each tree's root node."""
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf: np.ndarray
    value: np.ndarray
    depth: int

    def transform(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        rows = len(columns[self.numeric[0]]) if self.numeric else len(columns[self.categorical[0]])
        blocks = (
            [(np.column_stack([columns[n] for n in self.numeric]) - self.mean) / self.scale] if self.numeric else []
        )
        for name, lookup, width in zip(self.categorical, self.categories, self.widths, strict=True):
            block = np.zeros((rows, width))
            codes = np.fromiter((lookup.get(v, -1) for v in columns[name]), dtype=np.int64, count=rows)
            known = codes >= 0
            block[np.nonzero(known)[0], codes[known]] = 1.0
            blocks.append(block)
        return np.hstack(blocks)

    def predict_proba1(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """P(class 1) for each row."""
        x = self.transform(columns)
        rows = x.shape[0]
        node = np.broadcast_to(self.roots, (rows, self.roots.size)).copy()
        row_index = np.arange(rows)[:, None]
        for _ in range(self.depth):
            active = ~self.leaf[node]
            if not active.any():
                break
            values = x[row_index, self.feature[node]]
            go_left = np.where(np.isnan(values), self.missing_left[node], values <= self.threshold[node])
            node = np.where(active, np.where(go_left, self.left[node], self.right[node]), node)
        return np.asarray(expit(self.baseline + self.value[node].sum(axis=1)))


def compile_pipeline(pipeline: Any) -> CompiledPipeline | None:
    """The compiled form, or None if the pipeline is not exactly the supported shape."""
    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
        return None
    transformer, classifier = pipeline.steps[0][1], pipeline.steps[1][1]
    if not isinstance(transformer, ColumnTransformer) or not isinstance(classifier, HistGradientBoostingClassifier):
        return None
    if (
        classifier.n_trees_per_iteration_ != 1
        or classifier.is_categorical_ is not None
        or transformer.remainder != "drop"
    ):
        return None
    parts = [(name, step, cols) for name, step, cols in transformer.transformers_ if step != "drop"]
    if [type(step) for _, step, _ in parts] != [StandardScaler, OneHotEncoder]:
        return None
    scaler, encoder = parts[0][1], parts[1][1]
    if (
        encoder.handle_unknown != "ignore"
        or encoder.drop_idx_ is not None
        or getattr(encoder, "_infrequent_enabled", False)
    ):
        return None
    nodes = [tree.nodes for trees in classifier._predictors for tree in trees]
    offsets = np.cumsum([0] + [n.size for n in nodes[:-1]])
    stacked = np.concatenate(nodes)
    shift = np.repeat(offsets, [n.size for n in nodes])
    mean = scaler.mean_ if scaler.with_mean else np.zeros(len(parts[0][2]))
    scale = scaler.scale_ if scaler.with_std else np.ones(len(parts[0][2]))
    return CompiledPipeline(
        numeric=tuple(parts[0][2]),
        mean=np.asarray(mean, dtype=np.float64),
        scale=np.asarray(scale, dtype=np.float64),
        categorical=tuple(parts[1][2]),
        categories=tuple({str(c): i for i, c in enumerate(cats)} for cats in encoder.categories_),
        widths=tuple(len(cats) for cats in encoder.categories_),
        baseline=float(np.ravel(classifier._baseline_prediction)[0]),
        roots=offsets.astype(np.int64),
        feature=stacked["feature_idx"].astype(np.int64),
        threshold=stacked["num_threshold"].astype(np.float64),
        missing_left=stacked["missing_go_to_left"].astype(bool),
        left=(stacked["left"].astype(np.int64) + shift),
        right=(stacked["right"].astype(np.int64) + shift),
        leaf=stacked["is_leaf"].astype(bool),
        value=stacked["value"].astype(np.float64),
        depth=int(stacked["depth"].max()) + 1,
    )


def verify(compiled: CompiledPipeline, pipeline: Any, names: tuple[str, ...], rows: int = 512, seed: int = 0) -> float:
    """Largest difference between the compiled path and scikit-learn on a probe batch."""
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    for name, mean, scale in zip(compiled.numeric, compiled.mean, compiled.scale, strict=True):
        values = rng.normal(mean, 3 * scale, size=rows)
        values[rng.random(rows) < 0.05] = np.nan
        columns[name] = values
    for name, lookup in zip(compiled.categorical, compiled.categories, strict=True):
        known = np.array(list(lookup), dtype=object)
        columns[name] = np.where(
            rng.random(rows) < 0.1, "never-seen", known[rng.integers(0, known.size, size=rows)]
        ).astype(object)
    expected = pipeline.predict_proba(pd.DataFrame(columns, columns=list(names)))[:, 1]
    return float(np.max(np.abs(compiled.predict_proba1(columns) - expected)))
