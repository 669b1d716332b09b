"""Golden values for the task bank's evaluation (test/benchmark/taskbankEval.test.ts, "independent reference").

Written from the definitions (docs/taskonomy.md: win rates with ties ½, AHP on the clipped reciprocal matrix with
`pixels` left out, Gain / Quality as win rates vs pixels / self; the DDS protocol: per-target Spearman of similarity
vs affinity over the other sources, or with the source t kept; linear CKA, Kornblith et al. 2019; the task tree as
average linkage on the correlation distance of transfer-out affinities; nearest-neighbour family agreement with
shared credit for ties; the ARI of Hubert & Arabie), not from the TypeScript sources. numpy / scipy only: the Perron
vector by numpy.linalg.eig, Spearman by scipy.stats.spearmanr, trees by scipy.cluster.hierarchy (linkage 'average',
fcluster 'maxclust'), the ARI from the contingency table.

The inputs are integer formulas (exact in float64 in both languages, so no tie or comparison can differ):
  tasks t0…t5 in families a a b b c c; test images 0…11; sources the tasks, pixels, random, self;
  loss(t, s, i) = level(s, t) + ((7 i (h(t) + 1) + 13 h(s) (h(s) + 1)) mod 17) / 17 · 0.9 + ((3 i h(s) + h(t)) mod 5) / 5 · 0.2,
  h = index in the source list,
  level: self 0, own 0.4, same family 0.7, other family 1.1, random 1.4, pixels 1.5;
  features of encoder k (family f) on probe crop i, column c (n = 15, d = 4):
  ((13 i (f + 3) + 7 c) mod 23) / 23 + 0.3 · ((31 i + 17 c + 7 k) mod 11) / 11;
  for the split-half reliability, images 0…4 are one photograph and 5…11 another;
  the prediction through the other targets' transfers (docs/taskbank.md) with weights 1 (the source prior)
  and with the linear CKA clipped at 0, over the 3 most similar known tasks.

Run: python3 test/reference/taskbank_eval_reference.py  (prints the JSON the test embeds; deterministic)
"""

import json

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist, squareform
from scipy.stats import rankdata, spearmanr

TASKS = [f"t{k}" for k in range(6)]
FAMILY = ["a", "a", "b", "b", "c", "c"]
SOURCES = TASKS + ["pixels", "random", "self"]
IMAGES = 12


def level(s, t):
    if s == "self":
        return 0.0
    if s == t:
        return 0.4
    if s == "random":
        return 1.4
    if s == "pixels":
        return 1.5
    return 0.7 if FAMILY[TASKS.index(s)] == FAMILY[TASKS.index(t)] else 1.1


def loss(t, s, i):
    hs, ht = SOURCES.index(s), SOURCES.index(t)
    return level(s, t) + ((7 * i * (ht + 1) + 13 * hs * (hs + 1)) % 17) / 17 * 0.9 + ((3 * i * hs + ht) % 5) / 5 * 0.2


def wins(t, images=range(IMAGES)):
    images = list(images)
    L = np.array([[loss(t, s, i) for i in images] for s in SOURCES])
    m = len(SOURCES)
    W = np.full((m, m), 0.5)
    for a in range(m):
        for b in range(m):
            if a != b:
                W[a, b] = (np.sum(L[a] < L[b]) + 0.5 * np.sum(L[a] == L[b])) / len(images)
    return W


def ahp(W):
    C = np.clip(W, 0.001, 0.999)
    R = C / C.T
    vals, vecs = np.linalg.eig(R)
    v = np.real(vecs[:, np.argmax(np.real(vals))])
    return v / v.sum()


affinities, gain, quality = {}, {}, {}
for t in TASKS:
    W = wins(t)
    keep = [i for i, s in enumerate(SOURCES) if s != "pixels"]
    w = ahp(W[np.ix_(keep, keep)])
    for k, i in enumerate(keep):
        affinities[f"{SOURCES[i]}__{t}"] = w[k]
    for i, s in enumerate(SOURCES):
        gain[f"{s}__{t}"] = W[i, SOURCES.index("pixels")]
        quality[f"{s}__{t}"] = W[i, SOURCES.index("self")]

A = np.array([[affinities[f"{s}__{t}"] for t in TASKS] for s in TASKS])  # rows sources, cols targets


def features(k):
    f = "abc".index(FAMILY[k])
    return np.array([[((13 * i * (f + 3) + 7 * c) % 23) / 23 + 0.3 * ((31 * i + 17 * c + 7 * k) % 11) / 11 for c in range(4)] for i in range(15)])


def linear_cka(X, Y):
    X = X - X.mean(0)
    Y = Y - Y.mean(0)
    return np.linalg.norm(Y.T @ X) ** 2 / (np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y))


S = np.array([[linear_cka(features(a), features(b)) for b in range(6)] for a in range(6)])


def dds_protocol(S, with_self):
    out = {}
    for j, t in enumerate(TASKS):
        rows = [i for i in range(6) if with_self or i != j]
        out[t] = spearmanr(S[rows, j], A[rows, j]).statistic
    return out


def ari(x, y):
    _, xi = np.unique(x, return_inverse=True)
    _, yi = np.unique(y, return_inverse=True)
    table = np.zeros((xi.max() + 1, yi.max() + 1))
    np.add.at(table, (xi, yi), 1)
    c2 = lambda v: v * (v - 1) / 2
    index = c2(table).sum()
    a = c2(table.sum(1)).sum()
    b = c2(table.sum(0)).sum()
    expected = a * b / c2(len(x))
    return (index - expected) / ((a + b) / 2 - expected)


def nn_agreement(sim):
    credit = []
    for i in range(6):
        others = [j for j in range(6) if j != i]
        best = max(sim[i, j] for j in others)
        nearest = [j for j in others if sim[i, j] == best]
        credit.append(np.mean([FAMILY[j] == FAMILY[i] for j in nearest]))
    return float(np.mean(credit))


def recovery(dist):
    Z = linkage(squareform(dist, checks=False), method="average")
    clusters = fcluster(Z, t=3, criterion="maxclust")
    return {"ari": ari(clusters, FAMILY), "nn": nn_agreement(1 - dist), "merge_heights": sorted(Z[:, 2].tolist())}


def task_affinities(t, images):
    """AHP affinities of the task sources for target t from the given test images only (pixels left out)."""
    W = wins(t, images)
    keep = [i for i, s in enumerate(SOURCES) if s != "pixels"]
    w = ahp(W[np.ix_(keep, keep)])
    return {SOURCES[i]: w[k] for k, i in enumerate(keep)}


# Split-half reliability with two photographs, images 0-4 and 5-11: every halving is one photograph against the
# other, so the value is the Spearman between the two photographs' affinities over the sources s != t.
half_reliability = {}
for t in TASKS:
    a, b = task_affinities(t, range(0, 5)), task_affinities(t, range(5, IMAGES))
    others = [s for s in TASKS if s != t]
    half_reliability[t] = spearmanr([a[s] for s in others], [b[s] for s in others])[0]

# Prediction through the other targets' transfers: per target t, the candidates are the other tasks; each known task
# u != t ranks all the candidates, u's own encoder included, by affinity (scipy rankdata, average ties), scaled to
# [0, 1]; a candidate's prediction is the mean of its scaled ranks over the 3 known tasks u != t of largest positive
# weight w(t, u) (all of them when they tie), weighted by w(t, u). The source prior has w = 1; the
# measure's version has w = max(0, CKA(t, u)).
def via_transfers(weight):
    out = {}
    for t in TASKS:
        cands = [s for s in TASKS if s != t]
        scaled = {}
        for u in cands:
            ranked = cands
            r = rankdata([affinities[f"{s}__{u}"] for s in ranked])
            scaled[u] = {s: (r[k] - 1) / (len(ranked) - 1) for k, s in enumerate(ranked)}
        ws = sorted((weight(t, u) for u in cands if weight(t, u) > 0), reverse=True)
        cut = ws[2] if len(ws) > 3 else 0
        pred = []
        for s in cands:
            us = [u for u in cands if weight(t, u) > 0 and weight(t, u) >= cut]
            w = np.array([weight(t, u) for u in us])
            pred.append(float(np.sum(w * np.array([scaled[u][s] for u in us])) / np.sum(w)))
        out[t] = spearmanr(pred, [affinities[f"{s}__{t}"] for s in cands])[0]
    return out


source_prior = via_transfers(lambda t, u: 1.0)
cka_via_transfers = via_transfers(lambda t, u: max(0.0, S[TASKS.index(t), TASKS.index(u)]))

tree_dist = squareform(pdist(A, metric="correlation"))
cka_dist = 1 - S
np.fill_diagonal(cka_dist, 0)
out = {
    "affinities": affinities,
    "winsVsPixels": gain,
    "winsVsTask": quality,
    "cka": S.tolist(),
    "spearman": dds_protocol(S, False),
    "spearmanWithSelf": dds_protocol(S, True),
    "tree": recovery(tree_dist),
    "ckaTree": recovery(cka_dist),
    "halfReliability": half_reliability,
    "sourcePrior": source_prior,
    "ckaViaTransfers": cka_via_transfers,
}
print(json.dumps(out, indent=1))
