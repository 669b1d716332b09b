"""Independent numpy reference for the transferability scores LogME, LEEP, NCE, NLEEP, H-score and exact PCA (issue 13).

Run from the repository root:   python3 test/reference/transferability_a.py
It first checks itself against the ALGORITHMS.md §13.2 check values (exit status 1 on any failure), then writes
test/fixtures/transferability/goldens_a.json, which test/transferability/scoresA.test.ts and pca.test.ts read (the
tests never run Python). Deterministic: a second run rewrites a byte-identical file.

Written from the definitions in ALGORITHMS.md §11.1–11.4, §11.9 and from the written definitions in
docs/transferability.md (the NLEEP mixture, the rank cut-off, exact PCA), not from the TypeScript sources; no
reference code was copied. It deliberately takes the direct route where the TypeScript takes a shortcut:
- LogME fixed point from numpy's thin SVD of F (x = Uᵀy, r₀ = ‖y‖² − Σx²), the ICML variant from eigh(FᵀF) with the
  posterior mean m and the residual ‖y − Fm‖² formed explicitly (TypeScript: one smaller-side eigendecomposition and
  the closed forms Σp²/(t+σ)², ‖y‖² − Σp²(2t+σ)/(t+σ)²);
- H-score from the D×D covariances and an explicit pseudo-inverse (TypeScript: the singular basis, never D×D).
Conventions shared with the TypeScript side, each a documented choice:
- labels are codes 0…C−1 over the distinct labels;
- LogME keeps every one of the min(N, D) singular values (the LogME repository drops s ≤ 1e-10 when N > D);
- numerical rank / pseudo-inverse cut-off: eigenvalues of a Gram or covariance matrix at most
  λmax · max(N, D) · 2⁻⁴⁸ count as zero (TLlib: rcond 1e-15);
- exact PCA of the centred rows: scores = U·S of the thin SVD, components kept up to the numerical rank, each
  column's largest-|value| entry made positive (first index on a tie); `variance` keeps the first k with cumulative
  explained ratio > variance (scikit-learn's rule), 1 keeps all;
- NLEEP's mixture: see `nleep` below.
Every input is a closed-form formula (fixtures below); the JSON also carries the generated inputs.
"""

from __future__ import annotations

import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from rank_reference import mulberry32  # noqa: E402  (the seeded generator, already re-implemented from its spec)

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "transferability", "goldens_a.json")
RANK_EPS = 2.0**-48
EPS = np.finfo(float).eps


# ------------------------------------------------------------------------------------------------------------
# Fixtures (closed-form; the TypeScript test regenerates the integer-only ones and compares with the stored data)
# ------------------------------------------------------------------------------------------------------------


def s132():
    """ALGORITHMS.md §13.2: N = 12, D = 4, C = 3, C_s = 4; the wide variant has 14 columns."""
    n = 12
    y = np.array([i % 3 for i in range(n)])
    F = np.array(
        [[((i + 1) * (d + 2) * 37 % 17) / 17 + (0.5 * y[i] if d == 0 else 0) + (0.3 if d == 1 and y[i] == 1 else 0) for d in range(4)] for i in range(n)]
    )
    logits = np.array([[((i + 2) * (z + 1) * 13 % 11) / 11 + (0.35 if z == y[i] else 0) for z in range(4)] for i in range(n)])
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    theta = e / e.sum(axis=1, keepdims=True)
    Fw = np.hstack([F, F[:, 0:2] ** 2, np.sin(F), np.cos(3 * F)])
    return F, Fw, y, theta


def wide():
    """N = 10 < D = 30, unbalanced classes 4/3/3."""
    n, d = 10, 30
    y = np.array([(3 * i) // 10 for i in range(n)])
    F = np.array([[((i + 2) * (j + 5) * 29 % 23) / 23 + (0.4 * y[i] if j % 3 == 0 else 0) for j in range(d)] for i in range(n)])
    return F, y


def degenerate():
    """N = 24, D = 9: columns 0–5 free, 6 constant, 7 a copy of 1, 8 = 2·col2 − col0 (centred rank 6); 4 classes."""
    n = 24
    y = np.array([i % 4 for i in range(n)])
    B = np.array([[((i + 1) * (j + 3) * 41 % 19) / 19 + (0.3 if y[i] == j % 4 else 0) for j in range(6)] for i in range(n)])
    F = np.hstack([B, np.full((n, 1), 0.75), B[:, 1:2], 2 * B[:, 2:3] - B[:, 0:1]])
    return F, y


def huge(F):
    """The §13.2 features at a scale of 1e6 with an offset of 3e6."""
    return F * 1e6 + 3e6


def mixed(F):
    """The §13.2 features with column 2 scaled by 1e5 (mixed scales)."""
    G = F.copy()
    G[:, 2] *= 1e5
    return G


def duplicated():
    """N = 30: 15 distinct rows, each twice (tied distances); D = 5, 3 classes."""
    n, d = 30, 5
    r = [i % 15 for i in range(n)]
    y = np.array([ri % 3 for ri in r])
    F = np.array([[((ri + 1) * (j + 2) * 7 % 11) / 11 + (0.6 * (ri % 3) if j == 0 else 0) for j in range(d)] for ri in r])
    return F, y


def clusters():
    """N = 40, D = 6, 4 classes of 10: class-dependent offsets on a pseudo-random grid."""
    n, d = 40, 6
    y = np.array([i % 4 for i in range(n)])
    F = np.array(
        [
            [((i + 1) * (j + 1) * 53 % 31) / 31 * 0.5 + (1.0 if j == y[i] else 0) + (0.5 if j == (y[i] + 2) % 6 else 0) for j in range(d)]
            for i in range(n)
        ]
    )
    return F, y


def overlap():
    """N = 60, D = 5, 3 classes of 20 that overlap (a small class offset on a pseudo-random grid): NLEEP's fixture."""
    n, d = 60, 5
    y = np.array([i % 3 for i in range(n)])
    F = np.array([[((i + 1) * (j + 3) * 37 % 29) / 29 + (0.25 if j == y[i] else 0) for j in range(d)] for i in range(n)])
    return F, y


def regression_targets(F):
    """Two regression columns for a 12-row feature matrix."""
    n = F.shape[0]
    v0 = [2 * F[i, 0] - F[i, 2] + ((i * 7) % 5) / 5 * 0.1 for i in range(n)]
    v1 = [((i + 1) * 3 % 7) / 7 for i in range(n)]
    return np.array([v0, v1]).T


def edge_probabilities():
    """N = 9, C_s = 5: source class 3 never predicted (a zero column), ties for the top class; 3 target classes."""
    n = 9
    w = np.array([[0 if z == 3 else ((i + 1) * (z + 2) % 5) + 1 for z in range(5)] for i in range(n)], dtype=float)
    w[2] = [2, 2, 1, 0, 1]  # tie between classes 0 and 1 → argmax 0
    w[5] = [1, 3, 1, 0, 3]  # tie between classes 1 and 4 → argmax 1
    theta = w / w.sum(axis=1, keepdims=True)
    y = np.array([i % 3 for i in range(n)])
    return theta, y


# ------------------------------------------------------------------------------------------------------------
# Scores from the definitions
# ------------------------------------------------------------------------------------------------------------


def targets(y):
    """Class indicators (N×C, C = distinct labels) or regression values (N×T)."""
    if y.ndim == 2:
        return y.astype(float)
    classes = np.unique(y)
    return (y[:, None] == classes[None, :]).astype(float)


def logme_fixed_point(F, y, restore=False):
    n, d = F.shape
    U, s, _ = np.linalg.svd(F, full_matrices=False)
    sigma = s**2
    k = len(s)
    out = []
    for yc in targets(y).T:
        x2 = (U.T @ yc) ** 2
        r0 = yc @ yc - x2.sum()
        alpha, beta = 1.0, 1.0
        for _ in range(11):
            t = alpha / beta
            gamma = np.sum(sigma / (sigma + t))
            m2 = np.sum(sigma * x2 / (t + sigma) ** 2)
            res2 = np.sum(x2 / (1 + sigma / t) ** 2) + r0
            alpha = gamma / (m2 + 1e-5)
            beta = (n - gamma) / (res2 + 1e-5)
            if abs(alpha / beta - t) / t <= 1e-3:
                break
        logdet = np.sum(np.log(alpha + beta * sigma)) + (max(d - k, 0) * math.log(alpha) if restore else 0)
        ev = d / 2 * math.log(alpha) + n / 2 * math.log(beta) - 0.5 * logdet - beta / 2 * res2 - alpha / 2 * m2 - n / 2 * math.log(2 * math.pi)
        out.append(ev / n)
    return float(np.mean(out))


def logme_icml(F, y):
    n, d = F.shape
    w, V = np.linalg.eigh(F.T @ F)
    w = np.maximum(w, 0)
    out = []
    for yc in targets(y).T:
        alpha, beta, lam = 1.0, 1.0, 1.0
        q = V.T @ (F.T @ yc)
        for _ in range(11):
            gamma = np.sum(w / (w + lam))
            m = V @ (q * beta / (alpha + beta * w))
            mm = m @ m
            res = yc - F @ m
            rr = res @ res
            alpha = gamma / (mm + 1e-5)
            beta = (n - gamma) / (rr + 1e-5)
            new = alpha / beta
            if abs(new - lam) / lam < 0.01:
                break
            lam = new
        ev = (
            d / 2 * math.log(alpha)
            + n / 2 * math.log(beta)
            - 0.5 * np.sum(np.log(alpha + beta * w))
            - beta / 2 * (rr + 1e-5)
            - alpha / 2 * (mm + 1e-5)
            - n / 2 * math.log(2 * math.pi)
        )
        out.append(ev / n)
    return float(np.mean(out))


def leep(theta, y):
    n = len(y)
    classes = np.unique(y)
    joint = np.array([theta[y == c].sum(axis=0) / n for c in classes])
    pz = joint.sum(axis=0)
    keep = pz > 0
    cond = joint[:, keep] / pz[keep]
    pred = theta[:, keep] @ cond.T
    return float(np.mean(np.log(pred[np.arange(n), np.searchsorted(classes, y)])))


def nce(theta, y):
    n = len(y)
    z = np.argmax(theta, axis=1)
    classes = np.unique(y)
    value = 0.0
    for zz in range(theta.shape[1]):
        mask = z == zz
        if not mask.any():
            continue
        p = np.array([np.sum(y[mask] == c) for c in classes]) / mask.sum() + 1e-20
        value += mask.sum() / n * np.sum(p * np.log(p))
    return float(value)


def pinv_sym(A, n, d):
    """Pseudo-inverse of a symmetric PSD matrix with the shared cut-off λ ≤ λmax · max(N, D) · 2⁻⁴⁸."""
    w, V = np.linalg.eigh(A)
    cut = max(w.max(), 0) * max(n, d) * RANK_EPS
    inv = np.where(w > cut, 1 / np.where(w > cut, w, 1), 0)
    return (V * inv) @ V.T


def class_means(F, y):
    g = np.zeros_like(F)
    for c in np.unique(y):
        g[y == c] = F[y == c].mean(axis=0)
    return g


def hscore(F, y):
    n, d = F.shape
    covf = np.atleast_2d(np.cov(F, rowvar=False))
    covg = np.atleast_2d(np.cov(class_means(F, y), rowvar=False))
    return float(np.trace(pinv_sym(covf, n, d) @ covg))


def ledoit_wolf(Fc):
    """Shrinkage s and target scale μ per ALGORITHMS.md §11.4 (scikit-learn's formula), on centred features."""
    n, d = Fc.shape
    S = Fc.T @ Fc / n
    mu = np.trace(S) / d
    if d == 1:
        return 0.0, mu
    G = Fc.T @ Fc
    X2 = Fc * Fc
    delta_ = np.sum(G**2) / n**2
    beta = (np.sum(X2.T @ X2) / n - delta_) / (d * n)
    delta = (delta_ - 2 * mu * np.trace(S) + d * mu**2) / d
    if delta <= 0:
        return 0.0, mu
    b = min(beta, delta)
    return (0.0 if b == 0 else b / delta), mu


def hscore_shrinkage(F, y):
    n, d = F.shape
    Fc = F - F.mean(axis=0)
    s, mu = ledoit_wolf(Fc)
    sigma = (1 - s) * (Fc.T @ Fc / n) + s * mu * np.eye(d)
    covg = np.atleast_2d(np.cov(class_means(Fc, y), rowvar=False))
    return float(np.trace(pinv_sym(sigma, n, d) @ ((1 - s) * covg)))


def pca(F, components=None, variance=None):
    X = F - F.mean(axis=0)
    n, d = X.shape
    U, s, _ = np.linalg.svd(X, full_matrices=False)
    lam = s**2
    rank = int(np.sum(lam > lam[0] * max(n, d) * RANK_EPS)) if len(lam) and lam[0] > 0 else 0
    if components is not None:
        k = min(components, rank)
    elif variance is None or variance >= 1:
        k = rank
    else:
        ratio = np.cumsum(lam) / lam.sum()
        k = min(int(np.sum(ratio <= variance)) + 1, rank)
        # the first k with cumulative ratio > variance (scikit-learn), computed by a running sum as the definition says
        run = 0.0
        for i in range(rank):
            run += lam[i]
            if run / lam.sum() > variance:
                k = i + 1
                break
        else:
            k = rank
    scores = U[:, :k] * s[:k]
    for j in range(k):
        col = scores[:, j]
        if col[int(np.argmax(np.abs(col)))] < 0:
            scores[:, j] = -col
    return scores, k, lam[:k] / (n - 1), lam[:k] / lam.sum()


# ------------------------------------------------------------------------------------------------------------
# NLEEP: the written definition (docs/transferability.md#nleep)
# ------------------------------------------------------------------------------------------------------------


def kmeans_pp(Z, k, seed):
    """k-means++ seeding: first row ⌊u·N⌋; then the first row whose running sum of D² exceeds u·ΣD²; all D² zero → ⌊u·N⌋."""
    n, d = Z.shape
    rnd = mulberry32(seed)
    d2 = [math.inf] * n
    chosen = []
    for m in range(k):
        u = rnd()
        pick = -1
        if m > 0:
            total = 0.0
            for v in d2:
                total += v
            if total > 0:
                r = u * total
                run = 0.0
                for i in range(n):
                    run += d2[i]
                    if run > r:
                        pick = i
                        break
                if pick < 0:
                    pick = max(i for i in range(n) if d2[i] > 0)
        if pick < 0:
            pick = int(math.floor(u * n))
        chosen.append(pick)
        for i in range(n):
            s = 0.0
            for j in range(d):
                s += (Z[i, j] - Z[pick, j]) ** 2
            if s < d2[i]:
                d2[i] = s
    return chosen


def kmeans(Z, seeds):
    """Lloyd from the seed rows until no label changes (≤ 300 rounds); nearest by ‖z‖² − 2z·c + ‖c‖², distances within
    1e-10·(‖z‖² + max‖c‖²) of the smallest tied → lowest centre index; an empty cluster keeps its centre."""
    centres = Z[seeds].copy()
    zz = np.sum(Z * Z, axis=1)

    def assign():
        cc = np.sum(centres * centres, axis=1)
        dist = zz[:, None] - 2 * Z @ centres.T + cc[None, :]
        limit = dist.min(axis=1) + 1e-10 * (zz + cc.max())
        return np.argmax(dist <= limit[:, None], axis=1)

    labels = assign()
    for _ in range(300):
        for c in range(len(seeds)):
            members = labels == c
            if members.any():
                centres[c] = Z[members].mean(axis=0)
        new = assign()
        if np.array_equal(new, labels):
            break
        labels = new
    return labels


def nleep(F, y, variance=0.8, per_class=5, seed=0):
    """PCA keeping `variance`; diagonal mixture of per_class·C components: k-means++ (mulberry32(seed)) + Lloyd, hard
    labels → M-step, then E/M until the mean log-likelihood moves by < 1e-3 (≤ 100 rounds), a final E-step; variances
    floored by 1e-6 × the mean per-dimension (population) variance of the PCA scores; component weight sums + 10ε;
    NLEEP = LEEP of the posteriors."""
    Z, d, _, _ = pca(F, variance=variance)
    n = len(y)
    C = len(np.unique(y))
    if d == 0:
        return leep(np.ones((n, 1)), y)
    K = per_class * C
    assert K <= n
    labels = kmeans(Z, kmeans_pp(Z, K, seed))
    floor = 1e-6 * np.mean(Z.var(axis=0))
    Z2 = Z * Z

    def m_step(resp):
        nk = resp.sum(axis=0) + 10 * EPS
        means = (resp.T @ Z) / nk[:, None]
        var = np.maximum(0, (resp.T @ Z2) / nk[:, None] - means**2) + floor
        return np.log(nk / nk.sum()), means, var

    def e_step(params):
        logw, means, var = params
        maha = np.maximum(0, Z2 @ (1 / var).T - 2 * Z @ (means / var).T + np.sum(means**2 / var, axis=1)[None, :])
        logp = logw[None, :] - 0.5 * (d * math.log(2 * math.pi) + np.sum(np.log(var), axis=1))[None, :] - 0.5 * maha
        mx = logp.max(axis=1, keepdims=True)
        lse = mx + np.log(np.sum(np.exp(logp - mx), axis=1, keepdims=True))
        return float(np.mean(lse)), np.exp(logp - lse)

    resp = np.zeros((n, K))
    resp[np.arange(n), labels] = 1
    params = m_step(resp)
    prev = -math.inf
    for _ in range(100):
        ll, resp = e_step(params)
        params = m_step(resp)
        if abs(ll - prev) < 1e-3:
            break
        prev = ll
    _, theta = e_step(params)
    return leep(theta, y)


# ------------------------------------------------------------------------------------------------------------
# Self-check against §13.2, then goldens
# ------------------------------------------------------------------------------------------------------------


def check_132():
    F, Fw, y, theta = s132()
    expected = [
        ("LogME fixed-point", logme_fixed_point(F, y), -0.7149628624308102),
        ("LogME ICML", logme_icml(F, y), -0.714971376446169),
        ("LogME fixed-point wide", logme_fixed_point(Fw, y), -0.2814764764997937),
        ("LogME ICML wide", logme_icml(Fw, y), -0.5516659137821184),
        ("LogME fixed-point wide, restored", logme_fixed_point(Fw, y, restore=True), -0.5516286310399449),
        ("LEEP", leep(theta, y), -1.0843271078905226),
        ("NCE", nce(theta, y), -0.7803552045207032),
        ("H-score", hscore(F, y), 1.2507751548023014),
        ("shrinkage H-score", hscore_shrinkage(F, y), 0.13418663091766947),
        ("Ledoit-Wolf s", ledoit_wolf(F - F.mean(axis=0))[0], 0.9350911666345595),
        ("H-score, TLlib pinv rcond 1e-15", float(np.trace(np.linalg.pinv(np.cov(F, rowvar=False), rcond=1e-15) @ np.cov(class_means(F, y), rowvar=False))), 1.2507751548023014),
    ]
    ok = True
    for name, got, want in expected:
        rel = abs(got - want) / abs(want)
        good = rel < 1e-9
        ok &= good
        print(f"{'OK  ' if good else 'FAIL'} {name}: {got!r} (expected {want!r}, rel {rel:.1e})")
    return ok


def mat(M):
    M = np.atleast_2d(np.asarray(M, dtype=float))
    return {"rows": int(M.shape[0]), "cols": int(M.shape[1]), "data": [float(v) for v in M.ravel()]}


def main():
    if not check_132():
        print("§13.2 check values not reproduced", file=sys.stderr)
        sys.exit(1)
    F, Fw, y, theta = s132()
    Fwide, ywide = wide()
    Fdeg, ydeg = degenerate()
    Fdup, ydup = duplicated()
    Fcl, ycl = clusters()
    Fov, yov = overlap()
    theta_e, y_e = edge_probabilities()
    fixtures = {
        "s132": mat(F),
        "s132_wide": mat(Fw),
        "s132_theta": mat(theta),
        "wide": mat(Fwide),
        "degenerate": mat(Fdeg),
        "huge": mat(huge(F)),
        "mixed": mat(mixed(F)),
        "duplicated": mat(Fdup),
        "clusters": mat(Fcl),
        "overlap": mat(Fov),
        "regression": mat(regression_targets(F)),
        "edge_theta": mat(theta_e),
    }
    labels = {
        "s132": y.tolist(),
        "wide": ywide.tolist(),
        "degenerate": ydeg.tolist(),
        "duplicated": ydup.tolist(),
        "clusters": ycl.tolist(),
        "overlap": yov.tolist(),
        "edge": y_e.tolist(),
    }
    cases = []

    def add(score, features, label, value):
        cases.append({"score": score, "input": features, "labels": label, "value": float(value)})

    feature_sets = [
        ("s132", F, "s132", y),
        ("s132_wide", Fw, "s132", y),
        ("wide", Fwide, "wide", ywide),
        ("degenerate", Fdeg, "degenerate", ydeg),
        ("huge", huge(F), "s132", y),
        ("mixed", mixed(F), "s132", y),
        ("duplicated", Fdup, "duplicated", ydup),
        ("clusters", Fcl, "clusters", ycl),
        ("overlap", Fov, "overlap", yov),
    ]
    for name, X, lname, lab in feature_sets:
        add("logme", name, lname, logme_fixed_point(X, lab))
        add("logme:solver=icml", name, lname, logme_icml(X, lab))
        add("hscore", name, lname, hscore(X, lab))
        add("hscore:shrinkage", name, lname, hscore_shrinkage(X, lab))
    # Regression LogME (two target columns), on the tall and the wide §13.2 features.
    R = regression_targets(F)
    add("logme", "s132", "regression", logme_fixed_point(F, R))
    add("logme:solver=icml", "s132", "regression", logme_icml(F, R))
    add("logme", "s132_wide", "regression", logme_fixed_point(Fw, R))
    add("logme:solver=icml", "s132_wide", "regression", logme_icml(Fw, R))
    # LEEP / NCE.
    add("leep", "s132_theta", "s132", leep(theta, y))
    add("nce", "s132_theta", "s132", nce(theta, y))
    add("leep", "edge_theta", "edge", leep(theta_e, y_e))
    add("nce", "edge_theta", "edge", nce(theta_e, y_e))
    # NLEEP.
    for name, X, lname, lab in [("overlap", Fov, "overlap", yov), ("duplicated", Fdup, "duplicated", ydup), ("degenerate", Fdeg, "degenerate", ydeg)]:
        add("nleep", name, lname, nleep(X, lab))
        add("nleep:per-class=2", name, lname, nleep(X, lab, per_class=2))
        add("nleep:per-class=1", name, lname, nleep(X, lab, per_class=1))
        add("nleep:variance=0.95,seed=7", name, lname, nleep(X, lab, variance=0.95, seed=7))
    add("nleep:per-class=2,variance=1,seed=3", "overlap", "overlap", nleep(Fov, yov, variance=1, per_class=2, seed=3))
    add("nleep:per-class=2", "clusters", "clusters", nleep(Fcl, ycl, per_class=2))
    add("nleep:per-class=3", "wide", "wide", nleep(Fwide, ywide, per_class=3))
    add("nleep:per-class=1,variance=1", "s132", "s132", nleep(F, y, variance=1, per_class=1))

    pcas = []
    for name, X, opts in [
        ("s132", F, {}),
        ("s132", F, {"components": 2}),
        ("s132", F, {"variance": 0.8}),
        ("s132_wide", Fw, {"variance": 0.95}),
        ("wide", Fwide, {}),
        ("wide", Fwide, {"components": 20}),
        ("degenerate", Fdeg, {}),
        ("degenerate", Fdeg, {"components": 8}),
        ("huge", huge(F), {"components": 3}),
        ("duplicated", Fdup, {"variance": 0.5}),
        ("overlap", Fov, {"variance": 0.8}),
    ]:
        scores, k, ev, er = pca(X, **opts)
        pcas.append({"input": name, "options": opts, "components": k, "explainedVariance": ev.tolist(), "explainedRatio": er.tolist(), "scores": mat(scores) if k else None})

    doc = {
        "about": "Goldens for LogME, LEEP, NCE, NLEEP, H-score and exact PCA; written by test/reference/transferability_a.py (do not edit).",
        "fixtures": fixtures,
        "labels": labels,
        "cases": cases,
        "pca": pcas,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.relpath(OUT, ROOT)}: {len(cases)} score cases, {len(pcas)} PCA cases")


if __name__ == "__main__":
    main()
