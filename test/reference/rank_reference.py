"""Independent reference for `taskmap rank` (src/taxonomy/rank.ts): source ranking with subsampling confidence.

Run from the repository root:   python3 test/reference/rank_reference.py
Writes test/fixtures/rank/rank_goldens.json (deterministic: running it again gives a byte-identical file).

Written from the protocol as documented (ALGORITHMS.md section 8.2 and the doc comments of src/linalg/resample.ts),
not from the TypeScript code:
- generator: mulberry32, a uint32 state set to the seed; per call add 0x6D2B79F5 (mod 2**32) and return the
  output mix divided by 2**32;
- subset sampler: partial Fisher-Yates on a fresh identity permutation of 0..n-1: for i < k, j = i + floor(u*(n-i)),
  swap i and j; the sample is the first k positions, sorted;
- per draw, every score is recomputed from the subset's rows (features re-normalised, matrices re-centred);
- per candidate: mean over draws, numpy's default percentiles (2.5, 97.5), P(best) = share of draws in which the
  candidate has the maximum score (ties share a draw equally);
- class labels as a target: the label matrix itself (same class 0 / different 1 for a distance-type measure,
  1 / 0 for a kernel), centred and compared by the measure's comparator; never an encoding of the labels.
Similarity values come from reference.py (itself written from ALGORITHMS.md, see README.md in this folder).
"""

from __future__ import annotations

import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import reference as R  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
FIXTURES = os.path.join(ROOT, "test", "fixtures", "reference")
OUT = os.path.join(ROOT, "test", "fixtures", "rank", "rank_goldens.json")
M32 = 0xFFFFFFFF


def mulberry32(seed: int):
    state = seed & M32

    def imul(a: int, b: int) -> int:
        return (a * b) & M32

    def next_float() -> float:
        nonlocal state
        state = (state + 0x6D2B79F5) & M32
        t = state
        t = imul(t ^ (t >> 15), t | 1)
        t = (t ^ ((t + imul(t ^ (t >> 7), t | 61)) & M32)) & M32
        return ((t ^ (t >> 14)) & M32) / 4294967296.0

    return next_float


def sample_without_replacement(n: int, k: int, rnd) -> list[int]:
    perm = list(range(n))
    for i in range(k):
        j = i + int(math.floor(rnd() * (n - i)))
        perm[i], perm[j] = perm[j], perm[i]
    return sorted(perm[:k])


def load_models() -> dict[str, np.ndarray]:
    with open(os.path.join(FIXTURES, "goldens.json")) as fh:
        models = json.load(fh)["models"]
    return {m["label"]: R.f64(np.load(os.path.join(FIXTURES, m["file"]))) for m in models}


# --- scores of one candidate against one target, per measure id -------------------------------------------

def score_features(measure: str, X: np.ndarray, T: np.ndarray) -> float:
    if measure == "rsa":
        return R.rsa(X, T, "correlation", "spearman")
    if measure == "dds:norm=znorm,kernel=cosine":
        return R.dds(X, T, "znorm", "cosine", "cka", "unbiased")
    if measure == "cka":
        return R.cka(X, T, "linear", debiased=False)
    raise ValueError(measure)


def label_matrix(labels: list[str], same: float, other: float) -> np.ndarray:
    y = np.array(labels)
    return np.where(y[:, None] == y[None, :], same, other).astype(np.float64)


def score_labels(measure: str, X: np.ndarray, labels: list[str]) -> float:
    if len(set(labels)) < 2:
        raise ValueError("a draw holds a single class")
    if measure == "rsa":  # correlation RDM (a distance) vs the 0/1 label RDM, Spearman of the upper triangles
        return R.spearman(R.upper(R.rsa_rdm(X, "correlation")), R.upper(label_matrix(labels, 0.0, 1.0)))
    if measure == "dds:norm=znorm,kernel=cosine":  # cosine f is a distance
        return R.compare(R.dds_matrix(X, "znorm", "cosine"), label_matrix(labels, 0.0, 1.0), "cka", "unbiased")
    if measure == "cka":  # linear kernel: same class 1, different 0
        return R.cka_from_grams(R.f_linear(X), label_matrix(labels, 1.0, 0.0), "biased")
    raise ValueError(measure)


def run_case(name, models, candidates, target, measure, draws, subset, seed):
    n = next(iter(models.values())).shape[0]
    if target["kind"] == "member":
        T = models[target["label"]]
        score = lambda X, idx: score_features(measure, X[idx], T[idx])  # noqa: E731
    else:
        labels = target["labels"]
        score = lambda X, idx: score_labels(measure, X[idx], [labels[i] for i in idx])  # noqa: E731
    everything = list(range(n))
    full = [score(models[c], everything) for c in candidates]
    rnd = mulberry32(seed)
    subsets = [sample_without_replacement(n, subset, rnd) for _ in range(draws)]
    scores = np.array([[score(models[c], idx) for c in candidates] for idx in subsets])
    # P(best) must not hinge on rounding: the best and second-best score of every draw differ by far more than
    # any two correct implementations can (1e-12 here).
    top2 = np.sort(scores, axis=1)[:, -2:]
    assert (top2[:, 1] - top2[:, 0]).min() > 1e-6, f"{name}: a draw has a near tie for best"
    p_best = np.zeros(len(candidates))
    for row in scores:
        best = np.flatnonzero(row == row.max())
        p_best[best] += 1.0 / len(best)
    p_best /= draws
    order = sorted(range(len(candidates)), key=lambda k: (-full[k], k))
    return {
        "name": name,
        "measure": measure,
        "target": target,
        "candidates": candidates,
        "draws": draws,
        "subset": subset,
        "seed": seed,
        "subsets": subsets,
        "full": full,
        "scores": scores.tolist(),
        "mean": scores.mean(axis=0).tolist(),
        "ci95": np.percentile(scores, [2.5, 97.5], axis=0).T.tolist(),
        "pBest": p_best.tolist(),
        "ranking": [candidates[k] for k in order],
    }


def main() -> None:
    models = load_models()
    labels_all = list(models)
    n = next(iter(models.values())).shape[0]
    # Three unequal classes (24 / 8 / 8), so one-hot encodings would NOT give a 0/1 correlation RDM.
    class_labels = ["a" if i % 5 < 3 else ("b" if i % 5 == 3 else "c") for i in range(n)]

    rnd = mulberry32(1993)
    generator = {"seed": 1993, "first": [rnd() for _ in range(8)]}
    rnd = mulberry32(4294967295)
    generator_max = {"seed": 4294967295, "first": [rnd() for _ in range(4)]}

    cases = []
    for measure in ("rsa", "dds:norm=znorm,kernel=cosine", "cka"):
        cases.append(run_case(f"member m0_gauss, {measure}", models, labels_all[1:],
                              {"kind": "member", "label": "m0_gauss"}, measure, 25, 20, 20261125))
        cases.append(run_case(f"class labels 24/8/8, {measure}", models, labels_all,
                              {"kind": "labels", "labels": class_labels}, measure, 25, 20, 7))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as fh:
        json.dump({"generator": [generator, generator_max], "n": n, "cases": cases}, fh, indent=1)
        fh.write("\n")
    print(f"wrote {OUT}: {len(cases)} cases")


if __name__ == "__main__":
    main()
