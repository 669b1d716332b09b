"""Independent reference for inference on a similarity matrix (src/taxonomy/inference.ts, support.ts).

Run from the repository root:   python3 test/reference/inference_reference.py
Writes test/fixtures/inference/inference_goldens.json (deterministic: running it again gives a byte-identical file).

Written from the protocol as documented in docs/measures.md#inference and the doc comments of
src/linalg/resample.ts / src/taxonomy/inference.ts, not from the TypeScript code:
- draws without replacement: the subset sampler of rank_reference.py (partial Fisher-Yates, sorted);
- draws with replacement: for each of n images, floor(u*n), sorted;
- per draw, every similarity is recomputed from the draw's rows; per cell: mean, sd (ddof 1), numpy's default
  percentiles 2.5 / 97.5;
- split support: scipy's average linkage on 1 - similarity (a condensed distance vector) of the full data and of
  every draw; a cluster of the full-data tree is supported by a draw when the draw's tree has a merge with exactly
  the same leaves;
- permutation test: Fisher-Yates over all n positions (i = 0..n-2, j = i + floor(u*(n-i)), NOT sorted), row i of the
  shuffled model is row perm[i] of the original; p = (#{shuffled >= observed} + 1) / (P + 1).
Similarity values come from reference.py (itself written from ALGORITHMS.md, see README.md in this folder).
"""

from __future__ import annotations

import json
import math
import os
import sys

import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import reference as R  # noqa: E402
from rank_reference import load_models, mulberry32, sample_without_replacement  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "inference", "inference_goldens.json")


def sample_with_replacement(n: int, k: int, rnd) -> list[int]:
    return sorted(int(math.floor(rnd() * n)) for _ in range(k))


def permutation(n: int, rnd) -> list[int]:
    perm = list(range(n))
    for i in range(n - 1):
        j = i + int(math.floor(rnd() * (n - i)))
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def similarity(measure: str, X: np.ndarray, Y: np.ndarray) -> float:
    if measure == "cka":
        return R.cka(X, Y, "linear", debiased=False)
    if measure == "rsa":
        return R.rsa(X, Y, "correlation", "spearman")
    raise ValueError(measure)


def matrix(measure: str, models: list[np.ndarray], idx: list[int]) -> np.ndarray:
    m = len(models)
    S = np.eye(m)
    for i in range(m):
        for j in range(i + 1, m):
            S[i, j] = S[j, i] = similarity(measure, models[i][idx], models[j][idx])
    return S


def clusters(S: np.ndarray) -> list[frozenset[int]]:
    """The leaf sets of the merges of scipy's average-linkage tree on 1 - S, in merge order."""
    m = S.shape[0]
    Z = linkage(squareform(1.0 - S, checks=False), method="average")
    sets: list[frozenset[int]] = []
    for a, b, _h, _size in Z:
        part = lambda c: frozenset([int(c)]) if c < m else sets[int(c) - m]  # noqa: E731
        sets.append(part(a) | part(b))
    return sets


def bootstrap_case(name, measure, models, labels, draws, seed, subset=None):
    n = models[0].shape[0]
    rnd = mulberry32(seed)
    if subset is None:
        indices = [sample_with_replacement(n, n, rnd) for _ in range(draws)]
    else:
        indices = [sample_without_replacement(n, subset, rnd) for _ in range(draws)]
    point = matrix(measure, models, list(range(n)))
    mats = np.array([matrix(measure, models, idx) for idx in indices])
    ref = clusters(point)
    trees = [set(clusters(S)) for S in mats]
    support = [{"members": sorted(labels[i] for i in c), "support": sum(c in t for t in trees) / draws} for c in ref]
    return {
        "name": name,
        "measure": measure,
        "draws": draws,
        "seed": seed,
        "subset": subset,
        "replacement": subset is None,
        "indices": indices,
        "point": point.tolist(),
        "matrices": mats.tolist(),
        "mean": mats.mean(axis=0).tolist(),
        "sd": mats.std(axis=0, ddof=1).tolist(),
        "lower": np.percentile(mats, 2.5, axis=0).tolist(),
        "upper": np.percentile(mats, 97.5, axis=0).tolist(),
        "support": support,
    }


def permutation_case(name, measure, models_by_label, a, b, permutations, seed):
    X = models_by_label[a]
    Y = models_by_label[b]
    n = X.shape[0]
    rnd = mulberry32(seed)
    observed = similarity(measure, X, Y)
    perms = [permutation(n, rnd) for _ in range(permutations)]
    values = [similarity(measure, X, Y[p]) for p in perms]
    extreme = sum(v >= observed - 1e-12 * max(1.0, abs(observed)) for v in values)
    # The count must not hinge on rounding: no shuffled value is within 1e-9 of the observed one.
    assert min(abs(v - observed) for v in values) > 1e-9, f"{name}: a shuffle ties the observed value"
    return {
        "name": name,
        "measure": measure,
        "a": a,
        "b": b,
        "permutations": permutations,
        "seed": seed,
        "firstPermutation": perms[0],
        "observed": observed,
        "null": values,
        "extreme": extreme,
        "pValue": (extreme + 1) / (permutations + 1),
    }


def main() -> None:
    by_label = load_models()
    labels = list(by_label)
    models = [by_label[l] for l in labels]
    n = models[0].shape[0]
    # A model unrelated to the others (its own generator), stored in the goldens so TypeScript reads the same numbers.
    independent = np.random.default_rng(102).standard_normal((n, 6))
    by_label["independent"] = independent
    cases = [
        bootstrap_case("cka, 12 subsets of 20", "cka", models, labels, 12, 1993, subset=20),
        bootstrap_case("rsa, 12 subsets of 24", "rsa", models, labels, 12, 5, subset=24),
        bootstrap_case("cka, 8 draws with replacement", "cka", models, labels, 8, 7),
    ]
    perms = [
        permutation_case("cka m0 vs m4 (related)", "cka", by_label, labels[0], labels[4], 40, 11),
        permutation_case("rsa m1 vs m3", "rsa", by_label, labels[1], labels[3], 40, 12),
        permutation_case("cka independent vs m0", "cka", by_label, "independent", labels[0], 60, 13),
        permutation_case("rsa m4 vs independent", "rsa", by_label, labels[4], "independent", 60, 14),
    ]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as fh:
        json.dump({"labels": labels, "independent": independent.tolist(), "bootstrap": cases, "permutation": perms}, fh, indent=1)
        fh.write("\n")
    print(f"wrote {OUT}: {len(cases)} bootstrap cases, {len(perms)} permutation cases")


if __name__ == "__main__":
    main()
