"""Golden values for the prediction through the other targets' transfers on Taskonomy's published data
(test/taskonomy/viaTransfersTaskonomy.test.ts).

Written from the definition (docs/taskbank.md, "Through the other targets' transfers"), not from the TypeScript:
per target t of the 17 Taskonomy affinity keys, the candidates are the other 16 tasks; each other task u ranks all the
candidates by its published first-order affinity s -> u (u's own entry included; scipy rankdata, average ties), scaled
to [0, 1]; a candidate's prediction is the mean of its scaled ranks over the known tasks u != t, weighted by
max(0, similarity(t, u)), either over all of them or over the k = 3 of largest positive weight (ties at the third
kept). The similarity is one of the DDS authors' released matrices (normcomparison_taskonomy_5000: the cosine-RDM
and the Laplacian-kernel entries, z-scored features, unbiased CKA); "alone" is the DDS protocol without the self
entry (Spearman over the other 16 tasks of similarity(s, t) against affinity(s -> t)). Mean over the 17 targets.
"equalWeights" is the representation-free prior (every other task weighted alike), computed in exact rational
arithmetic, so that sources whose mean ranks are equal tie exactly (the TypeScript sums w * (rank - 1) and divides
once for the same reason).

Run: python3 test/reference/via_transfers_taskonomy.py ../shared  (prints the JSON the test embeds; deterministic)
"""
import json
import sys
from fractions import Fraction

import numpy as np
from scipy.stats import rankdata, spearmanr

shared = sys.argv[1] if len(sys.argv) > 1 else "../shared"
fx = json.load(open(f"{shared}/data/duality-diagram-similarity/evaluation_fixtures.json"))
order = fx["dds_task_order_20"]
keys = fx["taskonomy_affinity_keys_17"]
alias = {"vanishing_point": "vanishing_point_well_defined", "segmentsemantic": "segmentsemantic_rb"}
names = [alias.get(t, t) for t in order]
idx = [names.index(k) for k in keys]
A = json.load(open(f"{shared}/data/taskonomy/results/affinities/all_affinities.json"))
n = len(keys)
aff = np.array([[A[f"{s}__{t}"] for t in keys] for s in keys])  # aff[s, t]
base = f"{shared}/data/duality-diagram-similarity/CVPR2020_results/normcomparison_taskonomy_5000"
matrices = {
    "rdm-cosine": json.load(open(f"{base}/rdms.json"))["cosine"]["cka"]["debiased_centered"]["znorm"][0],
    "kernel-lap": json.load(open(f"{base}/kernels.json"))["lap"]["cka"]["debiased_centered"]["znorm"][0],
}


def mean_spearman(predict):
    values = []
    for t in range(n):
        cands = [s for s in range(n) if s != t]
        values.append(spearmanr([predict(t, s) for s in cands], aff[cands, t])[0])
    return float(np.mean(values))


def via(S, k):
    def predict(t, s):
        cands = [x for x in range(n) if x != t]
        w = {u: max(0.0, S[t, u]) for u in cands}
        positive = sorted((v for v in w.values() if v > 0), reverse=True)
        cut = positive[k - 1] if k is not None and len(positive) > k else 0.0
        num = den = 0.0
        for u in cands:
            if w[u] <= 0 or w[u] < cut:
                continue
            r = rankdata(aff[cands, u])
            num += w[u] * (r[cands.index(s)] - 1) / (len(cands) - 1)
            den += w[u]
        return num / den

    return predict


def equal_weights(t, s):
    cands = [x for x in range(n) if x != t]
    total = sum(Fraction(float(rankdata(aff[cands, u])[cands.index(s)])) - 1 for u in cands)
    return float(total / ((len(cands) - 1) * len(cands)))


out = {}
for name, M in matrices.items():
    S = np.array(M)[np.ix_(idx, idx)]
    out[name] = {
        "alone": mean_spearman(lambda t, s: S[s, t]),
        "viaAll": mean_spearman(via(S, None)),
        "via3": mean_spearman(via(S, 3)),
    }
out["equalWeights"] = mean_spearman(equal_weights)
print(json.dumps(out, indent=1))
