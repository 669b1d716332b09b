"""Independent reference for issue 16 part A: Procrustes and shape metrics, the CCA family and linear predictivity.

Written from the definitions (docs/measures.md, ../shared/docs/ALGORITHMS.md §4, §5, §13.3; the papers' formulas),
numpy/scipy only, no code from taskmap, netrep, ReSi or google/svcca. It deliberately takes other routes than the
TypeScript: SVDs of the data where taskmap eigendecomposes Gram matrices, scipy's linear_sum_assignment where
taskmap runs its own transport solver, feature-space ridge fits with brute-force leave-one-out refits where taskmap
uses the dual form and the PRESS identity. Writes test/fixtures/measures16/a.json, read by
test/measures/measures16a.test.ts (tests never run Python).

    python3 test/reference/measures16a.py            # rewrites the golden file (deterministic)

Conventions implemented here (the TypeScript must agree; docs/measures.md states them):
- "rank" of a centred matrix: singular values s with s^2 > 1e-10 * s_max^2 (smaller ones are null space);
- shape metric: netrep's partial whitening d_k = alpha + (1 - alpha)/sqrt(lambda_k) on the kept components only
  (no absolute 1e-7 clip); euclidean score rescales each side to its original total variance;
- soft matching: 2-Wasserstein between the feature columns with uniform weights (exact, as an assignment problem
  on q/g copies of every column of X and p/g of every column of Y);
- CCA: k = min(rank X, rank Y) correlations; error when rank X + rank Y > n - 1 and ridge = 0; ridge kappa adds
  kappa * ||X||_F^2 / p to every variance; SVCCA cut = fewest leading directions holding `variance` of the total;
- PWCCA: weights from the side with fewer features (equal: mean of both), alpha_i ~ sum_j |<h_i, x_j>| with h_i the
  unit canonical variates of the centred data, over the k = min(rank X, rank Y) canonical pairs; no value where two
  correlations repeat (the directions, and so the weights, are then not unique);
- linear predictivity: folds = mulberry32 + Fisher-Yates round-robin (src/linalg/crossfit.ts), intercept by
  centring on the training fold, lambda = ratio * ||X_train,c||_F^2 / t from RATIOS by leave-one-out error
  (first minimum), R^2 = 1 - sum of held-out squared errors / sum ||y_i - mean y||^2.
"""

import json
import os

import numpy as np
from scipy.optimize import linear_sum_assignment

# The shared closed-form inputs (§13.3 pair, n < p pair, degenerate columns) and the seeded generator.
from measures16b import model_a, model_b, model_degenerate, model_wide_c, model_wide_d
from rank_reference import mulberry32

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'fixtures', 'measures16', 'a.json')
DROP = 1e-10
RATIOS = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1e3, 1e4]


# ---------------------------------------------------------------------------------------------------------------
# Inputs (closed forms; A, B, C, D and the degenerate model are measures16b.py's)

def model_e():
    """n = 30, p = 6 (same width as A: PWCCA's tie rule)."""
    x = model_a()
    return np.array([[np.sin(1.3 * (i + 1) + 0.7 * j) + 0.4 * x[i][(j + 2) % 6] for j in range(6)] for i in range(30)], dtype=float)


def model_huge():
    """Model A at a huge scale and offset: 1e6 * A + 1e7."""
    return 1e6 * model_a() + 1e7


MODELS = {
    'A': model_a(),
    'B': model_b(),
    'E': model_e(),
    'C': model_wide_c(),
    'D': model_wide_d(),
    'deg': model_degenerate(),
    'huge': model_huge(),
}


# ---------------------------------------------------------------------------------------------------------------
# Helpers

def centred(x):
    return x - x.mean(axis=0, keepdims=True)


def nuclear(m):
    return float(np.linalg.svd(m, compute_uv=False).sum())


def svd_rank(x):
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return u[:, :0], s[:0], vt[:0]
    keep = s * s > DROP * s[0] * s[0]
    return u[:, keep], s[keep], vt[keep]


# ---------------------------------------------------------------------------------------------------------------
# Procrustes and shape metrics

def procrustes(x, y, center=True, scale=True, squared=False):
    if center:
        x, y = centred(x), centred(y)
    tx, ty = float((x * x).sum()), float((y * y).sum())
    nuc = nuclear(x.T @ y)  # zero padding adds zero rows/columns: no change
    d2 = 2 - 2 * nuc / np.sqrt(tx * ty) if scale else tx + ty - 2 * nuc
    d2 = max(0.0, d2)
    return d2 if squared else float(np.sqrt(d2))


def whiten(x, alpha):
    """X_w in the kept principal directions (an orthogonal right factor dropped) and the weights' variance."""
    if alpha == 1:
        return x
    u, s, _ = svd_rank(x)
    lam = s * s
    d = alpha + (1 - alpha) / np.sqrt(lam)
    return (u * s) * d[None, :]


def shape(x, y, alpha=1.0, score='angular', center=True):
    if center:
        x, y = centred(x), centred(y)
    xw, yw = whiten(x, alpha), whiten(y, alpha)
    nuc = nuclear(xw.T @ yw)
    nx, ny = np.linalg.norm(xw), np.linalg.norm(yw)
    if score == 'angular':
        return float(np.arccos(np.clip(nuc / (nx * ny), -1, 1)))
    tx, ty = float((x * x).sum()), float((y * y).sum())
    cx, cy = np.sqrt(tx) / nx, np.sqrt(ty) / ny
    return float(np.sqrt(max(0.0, tx + ty - 2 * cx * cy * nuc)))


def permutation(x, y, score='angular', center=True):
    if center:
        x, y = centred(x), centred(y)
    s = max(x.shape[1], y.shape[1])
    c = np.zeros((s, s))
    c[: x.shape[1], : y.shape[1]] = x.T @ y
    r, k = linear_sum_assignment(c, maximize=True)
    v = float(c[r, k].sum())
    tx, ty = float((x * x).sum()), float((y * y).sum())
    if score == 'angular':
        return float(np.arccos(np.clip(v / np.sqrt(tx * ty), -1, 1)))
    return float(np.sqrt(max(0.0, tx + ty - 2 * v)))


def softmatch(x, y, center=True):
    if center:
        x, y = centred(x), centred(y)
    p, q = x.shape[1], y.shape[1]
    g = np.gcd(p, q)
    # Uniform masses 1/p, 1/q scaled by pq/g: q/g units per column of X, p/g per column of Y; an optimal transport
    # with integer masses has an integral optimum, so the unit-mass assignment problem has the same value.
    xs = np.repeat(x, q // g, axis=1)
    ys = np.repeat(y, p // g, axis=1)
    cost = ((xs[:, :, None] - ys[:, None, :]) ** 2).sum(axis=0)
    r, k = linear_sum_assignment(cost)
    return float(np.sqrt(max(0.0, cost[r, k].sum() / (p * q // g))))


# ---------------------------------------------------------------------------------------------------------------
# CCA family

class RankError(Exception):
    pass


def whitened_basis(x, ridge, cut=None):
    """Centred X in principal directions, weighted 1/sqrt(lambda + ridge * mean variance); cut = SVCCA's rule."""
    u, s, _ = svd_rank(centred(x))
    lam = s * s
    p = x.shape[1]
    total = float((centred(x) ** 2).sum())
    if cut is not None:
        variance, dims = cut
        if dims > 0:
            k = min(dims, lam.size)
        else:
            k, acc = 0, 0.0
            while k < lam.size and acc < variance * total:
                acc += lam[k]
                k += 1
        u, s, lam = u[:, :k], s[:k], lam[:k]
        p, total = k, float(lam.sum())
    w = 1 / np.sqrt(lam + ridge * total / p)
    return (u * s) * w[None, :], lam.size


def canonical(x, y, ridge, cut=None):
    n = x.shape[0]
    qx, rx = whitened_basis(x, ridge, cut)
    qy, ry = whitened_basis(y, ridge, cut)
    if ridge == 0 and rx + ry > n - 1:
        raise RankError(f'rank {rx} + {ry} > {n - 1}')
    rho = np.linalg.svd(qx.T @ qy, compute_uv=False)[: min(rx, ry)]
    return np.minimum(rho, 1.0), qx, qy


def cca(x, y, stat='r2', ridge=0.0):
    rho, _, _ = canonical(x, y, ridge)
    return float(np.mean(rho ** 2) if stat == 'r2' else np.mean(rho))


def svcca(x, y, variance=0.99, dims=0, ridge=0.0):
    rho, _, _ = canonical(x, y, ridge, (variance, dims))
    return float(np.mean(rho))


class AmbiguousError(Exception):
    pass


def pwcca_side(xa, qa, qb, rho):
    u, _, _ = np.linalg.svd(qa.T @ qb, full_matrices=True)
    xc = centred(xa)
    num = den = 0.0
    for i in range(rho.size):
        h = qa @ u[:, i]
        h = h / np.linalg.norm(h)
        w = float(np.abs(xc.T @ h).sum())
        num += w * rho[i]
        den += w
    return num / den


def pwcca(x, y, ridge=0.0):
    rho, qx, qy = canonical(x, y, ridge)
    # A repeated correlation leaves its canonical directions any basis of their span, and the weights (sums of
    # absolute values) depend on that basis: PWCCA is not defined there, so no golden value.
    if np.any(np.abs(np.diff(rho)) < 1e-9):
        raise AmbiguousError(f'repeated canonical correlations {rho.tolist()}')
    if x.shape[1] < y.shape[1]:
        return float(pwcca_side(x, qx, qy, rho))
    if y.shape[1] < x.shape[1]:
        return float(pwcca_side(y, qy, qx, rho))
    return float((pwcca_side(x, qx, qy, rho) + pwcca_side(y, qy, qx, rho)) / 2)


def pwcca_google_svcca_procedure(small, large):
    """The google/svcca pwcca.py procedure as ALGORITHMS §4 describes it (for the record only: it adds the neuron means
    back onto the CCA rotation of the centred activations and so depends on the SVD's sign choices)."""
    a1, a2 = small.T, large.T  # neurons x datapoints
    m1, m2 = a1.mean(axis=1, keepdims=True), a2.mean(axis=1, keepdims=True)
    c = np.cov(np.vstack([a1, a2]))
    p = a1.shape[0]
    sxx, sxy, syy = c[:p, :p], c[:p, p:], c[p:, p:]
    xmax, ymax = np.abs(sxx).max(), np.abs(syy).max()
    sxx, syy, sxy = sxx / xmax, syy / ymax, sxy / np.sqrt(xmax * ymax)

    def inv_sqrt(m):
        v, e = np.linalg.eigh(m)
        return (e * (1 / np.sqrt(v))) @ e.T

    arr = inv_sqrt(sxx) @ sxy @ inv_sqrt(syy)
    u, s, _ = np.linalg.svd(arr)
    dirns = u.T @ (a1 - m1) + m1
    pmat, _ = np.linalg.qr(dirns.T)
    weights = np.abs(pmat.T @ a1.T).sum(axis=1)
    weights = weights / weights.sum()
    return float((weights * np.abs(s)).sum())


# ---------------------------------------------------------------------------------------------------------------
# Linear predictivity

def fold_assignment(n, k, seed):
    rnd = mulberry32(seed)
    perm = list(range(n))
    for i in range(n - 1, 0, -1):
        j = int(np.floor(rnd() * (i + 1)))
        perm[i], perm[j] = perm[j], perm[i]
    fold = [0] * n
    for pos, img in enumerate(perm):
        fold[img] = pos % k
    return np.array(fold)


def ridge_fit_predict(xt, yt, xe, lam):
    """Ridge with an unpenalised intercept (centring on the training rows), predictions for xe."""
    mx, my = xt.mean(axis=0), yt.mean(axis=0)
    xc, yc = xt - mx, yt - my
    if xc.shape[1] > xc.shape[0]:
        alpha = np.linalg.solve(xc @ xc.T + lam * np.eye(xc.shape[0]), yc)
        w = xc.T @ alpha
    else:
        w = np.linalg.solve(xc.T @ xc + lam * np.eye(xc.shape[1]), xc.T @ yc)
    return (xe - mx) @ w + my


def heldout_sse(x, y, train, test):
    xt, yt = x[train], y[train]
    t = len(train)
    scale = float((centred(xt) ** 2).sum()) / t
    if not scale > 0:
        return float(((y[test] - yt.mean(axis=0)) ** 2).sum())
    best, best_lam = np.inf, None
    for ratio in RATIOS:
        lam = ratio * scale
        loo = 0.0
        for i in range(t):
            keep = np.arange(t) != i
            pred = ridge_fit_predict(xt[keep], yt[keep], xt[i : i + 1], lam)
            loo += float(((yt[i] - pred) ** 2).sum())
        if loo < best:
            best, best_lam = loo, lam
    pred = ridge_fit_predict(xt, yt, x[test], best_lam)
    return float(((y[test] - pred) ** 2).sum())


def predictivity(x, y, folds=5, fold_seed=1, symmetrize=False):
    def one(a, b):
        fold = fold_assignment(a.shape[0], folds, fold_seed)
        sse = 0.0
        for f in range(folds):
            train, test = np.where(fold != f)[0], np.where(fold == f)[0]
            sse += heldout_sse(a, b, train, test)
        return 1 - sse / float((centred(b) ** 2).sum())

    return (one(x, y) + one(y, x)) / 2 if symmetrize else one(x, y)


# ---------------------------------------------------------------------------------------------------------------
# The golden cases

CASES = [
    # (measure id, python function with keyword arguments)
    ('procrustes', lambda x, y: procrustes(x, y)),
    ('procrustes:squared', lambda x, y: procrustes(x, y, squared=True)),
    ('procrustes:scale=false', lambda x, y: procrustes(x, y, scale=False)),
    ('procrustes:center=false,scale=false', lambda x, y: procrustes(x, y, center=False, scale=False)),
    ('shape', lambda x, y: shape(x, y)),
    ('shape:alpha=0.5', lambda x, y: shape(x, y, alpha=0.5)),
    ('shape:alpha=0', lambda x, y: shape(x, y, alpha=0.0)),
    ('shape:alpha=0.5,score=euclidean', lambda x, y: shape(x, y, alpha=0.5, score='euclidean')),
    ('shape:score=euclidean,center=false', lambda x, y: shape(x, y, score='euclidean', center=False)),
    ('permutation', lambda x, y: permutation(x, y)),
    ('permutation:score=euclidean,center=false', lambda x, y: permutation(x, y, score='euclidean', center=False)),
    ('softmatch', lambda x, y: softmatch(x, y)),
    ('softmatch:center=false', lambda x, y: softmatch(x, y, center=False)),
    ('cca', lambda x, y: cca(x, y)),
    ('cca:stat=mean', lambda x, y: cca(x, y, stat='mean')),
    ('cca:ridge=0.1', lambda x, y: cca(x, y, ridge=0.1)),
    ('cca:stat=mean,ridge=2', lambda x, y: cca(x, y, stat='mean', ridge=2.0)),
    ('svcca', lambda x, y: svcca(x, y)),
    ('svcca:variance=0.9', lambda x, y: svcca(x, y, variance=0.9)),
    ('svcca:dims=3', lambda x, y: svcca(x, y, dims=3)),
    ('svcca:ridge=0.1', lambda x, y: svcca(x, y, ridge=0.1)),
    ('pwcca', lambda x, y: pwcca(x, y)),
    ('pwcca:ridge=0.1', lambda x, y: pwcca(x, y, ridge=0.1)),
    ('predictivity', lambda x, y: predictivity(x, y)),
    ('predictivity:symmetrize', lambda x, y: predictivity(x, y, symmetrize=True)),
    ('predictivity:folds=3,foldSeed=7', lambda x, y: predictivity(x, y, folds=3, fold_seed=7)),
]

PAIRS = [('A', 'B'), ('B', 'A'), ('A', 'E'), ('C', 'D'), ('D', 'C'), ('A', 'deg'), ('huge', 'B'), ('C', 'A_rows12')]


def main():
    models = dict(MODELS)
    # A's first 12 images: n = 12 with p = 6 next to C's 40 features.
    models['A_rows12'] = models['A'][:12]
    results = []
    for mid, fn in CASES:
        for a, b in PAIRS:
            x, y = models[a], models[b]
            entry = {'measure': mid, 'a': a, 'b': b}
            try:
                entry['value'] = fn(x, y)
            except RankError as e:
                entry['error'] = 'rank'
                entry['detail'] = str(e)
            except AmbiguousError as e:
                entry['error'] = 'ambiguous'
                entry['detail'] = str(e)
            except ValueError as e:  # too few images for the folds
                entry['error'] = 'value'
                entry['detail'] = str(e)
            results.append(entry)
    x, y = models['A'], models['B']
    record = {
        'generator': 'test/reference/measures16a.py (numpy %s)' % np.__version__,
        'models': {k: {'n': v.shape[0], 'p': v.shape[1], 'data': v.ravel().tolist()} for k, v in models.items()},
        'cases': results,
        'record': {
            'pwcca_google_svcca_procedure_YX': pwcca_google_svcca_procedure(y, x),
            'canonical_correlations_AB': canonical(x, y, 0.0)[0].tolist(),
        },
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(record, f, indent=1)
        f.write('\n')
    for e in results:
        print(e['measure'], e['a'], e['b'], e.get('value', e.get('error')))
    print('record', record['record'])


if __name__ == '__main__':
    main()
