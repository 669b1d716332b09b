"""The numpy/scipy side of bench/transferability.bench.ts (issue 13 §4): the label-based transferability scores,
timed per score on the .npy files the TypeScript bench wrote, in this separate python3 process.

    python3 bench/transferability_numpy.py --dir DIR [--budget SECONDS] [--check]

DIR holds meta.json ({"candidates", "n", "d", "scores", "limits"}), labels.npy (int32 codes 0…C−1),
features_NNN.npy (float32, N×D) and probs_NNN.npy (float64, N×C_s) per candidate. Prints one JSON object on stdout
(versions, BLAS, and per score: the route taken, the candidates timed, seconds and values per candidate); progress
goes to stderr.

Each score is computed on its own, as the research code computes it (nothing is shared between scores), in the
research code's formulation — primal D×D covariances where the reference forms them (H-score, TransRate, SFDA, the
ICML LogME), the N×N side where it switches to it (LogME's fixed point for N ≤ D) — vectorised, with the cheapest
equivalent LAPACK call (eigh instead of an SVD of a symmetric matrix, a solve instead of a generalised eigenproblem
where only B⁻¹ matters, Σ A∘B instead of tr(A·B)). The definitions are those of docs/ALGORITHMS.md §11 and the
conventions of test/reference/transferability_a.py / _b.py (codes over the distinct labels, the pseudo-inverse
cut-off λmax·max(N, D)·2⁻⁴⁸, exact PCA with the largest-|value| sign rule, NLEEP's seeded diagonal mixture); the
code is this file's own. Randomised PCA (GBC, PARC) follows scikit-learn's algorithm (Halko et al.) but not its
random stream, so those values are not expected to match taskmap's exact PCA; --check adds exact-PCA values for them,
computed outside the timing.

A score whose first candidate takes so long that all candidates would exceed --budget seconds is timed on the first
k candidates only (k ≥ 1); the TypeScript side compares on the same k.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import scipy
import scipy.linalg
from scipy import optimize, stats

RANK_EPS = 2.0**-48
EPS = np.finfo(float).eps
LOG_2PI = math.log(2 * math.pi)


# ------------------------------------------------------------------------------------------------------------
# Shared helpers (each score calls them itself: nothing is cached between scores)
# ------------------------------------------------------------------------------------------------------------


def onehot(y: np.ndarray, c: int) -> np.ndarray:
    return np.eye(c)[y]


def class_means(X: np.ndarray, y: np.ndarray, c: int) -> np.ndarray:
    Y = onehot(y, c)
    return (Y.T @ X) / Y.sum(axis=0)[:, None]


def softmax_rows(L: np.ndarray) -> np.ndarray:
    E = np.exp(L - L.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def flip_signs(S: np.ndarray) -> np.ndarray:
    """Each column's largest-|value| entry positive (first index on a tie)."""
    idx = np.argmax(np.abs(S), axis=0)
    sign = np.sign(S[idx, np.arange(S.shape[1])])
    sign[sign == 0] = 1
    return S * sign


def exact_pca(F: np.ndarray, components: int | None = None, variance: float | None = None) -> np.ndarray:
    """Exact PCA scores U·S of the centred rows, from the eigendecomposition of the smaller Gram side (what the thin
    SVD computes, at the cost of one eigh); rank cap λ > λmax·max(N, D)·2⁻⁴⁸; scikit-learn's fractional rule."""
    X = F - F.mean(axis=0)
    n, d = X.shape
    if n <= d:
        lam, U = np.linalg.eigh(X @ X.T)
        lam, U = np.maximum(lam[::-1], 0.0), U[:, ::-1]
    else:
        lam, V = np.linalg.eigh(X.T @ X)
        lam, V = np.maximum(lam[::-1], 0.0), V[:, ::-1]
        U = None
    tol = (lam[0] if len(lam) else 0.0) * max(n, d) * RANK_EPS
    rank = int(np.sum(lam > tol))
    if components is not None:
        k = min(components, rank)
    elif variance is None or variance >= 1:
        k = rank
    else:
        ratio = np.cumsum(lam) / lam.sum()
        above = np.nonzero(ratio[:rank] > variance)[0]
        k = int(above[0]) + 1 if len(above) else rank
    if U is not None:
        S = U[:, :k] * np.sqrt(lam[:k])
    else:
        S = X @ V[:, :k]
    return flip_signs(S)


def randomized_pca(F: np.ndarray, k: int, n_iter: int, seed: int) -> np.ndarray:
    """Randomised PCA scores (Halko, Martinsson & Tropp; the algorithm of scikit-learn's randomized_svd: k + 10
    Gaussian test vectors, n_iter power iterations, LU normalisation when n_iter > 2, QR at the end)."""
    X = F - F.mean(axis=0)
    n, d = X.shape
    k = min(k, n, d)
    rng = np.random.RandomState(seed)
    Q = rng.normal(size=(d, min(k + 10, d)))
    Q = X @ Q
    for _ in range(n_iter):
        if n_iter > 2:
            Q = scipy.linalg.lu(Q, permute_l=True)[0]
            Q = scipy.linalg.lu(X.T @ Q, permute_l=True)[0]
        else:
            Q = X.T @ Q
        Q = X @ Q
    Q, _ = np.linalg.qr(Q)
    B = Q.T @ X
    Ub, s, _ = np.linalg.svd(B, full_matrices=False)
    return flip_signs((Q @ Ub[:, :k]) * s[:k])


# ------------------------------------------------------------------------------------------------------------
# LogME (§11.1)
# ------------------------------------------------------------------------------------------------------------


def logme_fixed_point(F: np.ndarray, y: np.ndarray, c: int) -> float:
    """LogME repository default: the N×N side when N ≤ D (there by a thin SVD; eigh of F·Fᵀ gives the same U, S),
    else eigh(FᵀF); every min(N, D) singular value kept; all classes iterated together, each stopping on its own."""
    n, d = F.shape
    Y = onehot(y, c)
    if n <= d:
        sigma, U = np.linalg.eigh(F @ F.T)
        sigma = np.maximum(sigma, 0.0)
        P2 = (U.T @ Y) ** 2 * sigma[:, None]  # p = s·uᵀy
    else:
        sigma, V = np.linalg.eigh(F.T @ F)
        sigma = np.maximum(sigma, 0.0)
        P2 = (V.T @ (F.T @ Y)) ** 2
    k = len(sigma)
    yy = (Y * Y).sum(axis=0)
    alpha, beta = np.ones(c), np.ones(c)
    m2, res2 = np.zeros(c), np.zeros(c)
    active = np.ones(c, dtype=bool)
    s = sigma[:, None]
    for _ in range(11):
        t = alpha / beta
        q = t[None, :] + s
        gamma = (s / q).sum(axis=0)
        n_gamma = (n - k) + (t[None, :] / q).sum(axis=0)
        m2_new = (P2 / q**2).sum(axis=0)
        res2_new = np.maximum(yy - (P2 * (2 * t[None, :] + s) / q**2).sum(axis=0), 0.0)
        a_new = gamma / (m2_new + 1e-5)
        b_new = n_gamma / (res2_new + 1e-5)
        m2 = np.where(active, m2_new, m2)
        res2 = np.where(active, res2_new, res2)
        alpha = np.where(active, a_new, alpha)
        beta = np.where(active, b_new, beta)
        active &= ~(np.abs(a_new / b_new - t) / t <= 1e-3)
        if not active.any():
            break
    logdet = np.log(alpha[None, :] + beta[None, :] * s).sum(axis=0)
    ev = d / 2 * np.log(alpha) + n / 2 * np.log(beta) - 0.5 * logdet - beta / 2 * res2 - alpha / 2 * m2 - n / 2 * LOG_2PI
    return float(np.mean(ev / n))


def logme_icml(F: np.ndarray, y: np.ndarray, c: int) -> float:
    """The ICML 2021 / TLlib iteration: eigendecomposition of the D×D FᵀF (there an SVD), the posterior mean m and the
    residual y − F·m formed explicitly each round, all D eigenvalues in the log-determinant."""
    n, d = F.shape
    Y = onehot(y, c)
    w, V = np.linalg.eigh(F.T @ F)
    w = np.maximum(w, 0.0)
    Q = V.T @ (F.T @ Y)
    alpha, beta, lam = np.ones(c), np.ones(c), np.ones(c)
    mm, rr = np.zeros(c), np.zeros(c)
    active = np.ones(c, dtype=bool)
    for _ in range(11):
        gamma = (w[:, None] / (w[:, None] + lam[None, :])).sum(axis=0)
        M = V @ (Q * (beta[None, :] / (alpha[None, :] + beta[None, :] * w[:, None])))
        R = Y - F @ M
        mm_new = (M * M).sum(axis=0)
        rr_new = (R * R).sum(axis=0)
        a_new = gamma / (mm_new + 1e-5)
        b_new = (n - gamma) / (rr_new + 1e-5)
        mm = np.where(active, mm_new, mm)
        rr = np.where(active, rr_new, rr)
        alpha = np.where(active, a_new, alpha)
        beta = np.where(active, b_new, beta)
        new = a_new / b_new
        done = np.abs(new - lam) / lam < 0.01
        lam = np.where(active & ~done, new, lam)
        active &= ~done
        if not active.any():
            break
    logdet = np.log(alpha[None, :] + beta[None, :] * w[:, None]).sum(axis=0)
    ev = d / 2 * np.log(alpha) + n / 2 * np.log(beta) - 0.5 * logdet - beta / 2 * (rr + 1e-5) - alpha / 2 * (mm + 1e-5) - n / 2 * LOG_2PI
    return float(np.mean(ev / n))


# ------------------------------------------------------------------------------------------------------------
# LEEP, NCE (§11.2, §11.3)
# ------------------------------------------------------------------------------------------------------------


def leep(theta: np.ndarray, y: np.ndarray, c: int) -> float:
    n = len(y)
    joint = onehot(y, c).T @ theta / n
    pz = joint.sum(axis=0)
    keep = pz > 0
    pred = theta[:, keep] @ (joint[:, keep] / pz[keep]).T
    return float(np.mean(np.log(pred[np.arange(n), y])))


def nce(theta: np.ndarray, y: np.ndarray, c: int) -> float:
    n, k = theta.shape
    z = np.argmax(theta, axis=1)
    counts = np.bincount(z * c + y, minlength=k * c).reshape(k, c).astype(float)
    per_z = counts.sum(axis=1)
    seen = per_z > 0
    p = counts[seen] / per_z[seen, None] + 1e-20
    return float(np.sum(per_z[seen] / n * np.sum(p * np.log(p), axis=1)))


# ------------------------------------------------------------------------------------------------------------
# NLEEP (docs/transferability.md#nleep: exact PCA, seeded diagonal mixture)
# ------------------------------------------------------------------------------------------------------------


def mulberry32(seed: int):
    """The seeded generator of src/linalg/resample.ts (its written spec)."""
    state = [seed & 0xFFFFFFFF]

    def imul(a: int, b: int) -> int:
        return (a * b) & 0xFFFFFFFF

    def nxt() -> float:
        state[0] = (state[0] + 0x6D2B79F5) & 0xFFFFFFFF
        t = state[0]
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    return nxt


def kmeans_pp(Z: np.ndarray, k: int, seed: int) -> np.ndarray:
    n = Z.shape[0]
    rnd = mulberry32(seed)
    d2 = np.full(n, np.inf)
    chosen = np.empty(k, dtype=int)
    for m in range(k):
        u = rnd()
        pick = -1
        if m > 0:
            run = np.cumsum(d2)  # sequential, as the definition's running sum
            total = run[-1]
            if total > 0:
                pick = int(np.searchsorted(run, u * total, side="right"))
                if pick >= n:
                    pick = int(np.nonzero(d2 > 0)[0][-1])
        if pick < 0:
            pick = int(math.floor(u * n))
        chosen[m] = pick
        d2 = np.minimum(d2, ((Z - Z[pick]) ** 2).sum(axis=1))
    return chosen


def kmeans(Z: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    k = len(seeds)
    centres = Z[seeds].copy()
    zz = (Z * Z).sum(axis=1)

    def assign() -> np.ndarray:
        cc = (centres * centres).sum(axis=1)
        dist = zz[:, None] - 2 * Z @ centres.T + cc[None, :]
        limit = dist.min(axis=1) + 1e-10 * (zz + cc.max())
        return np.argmax(dist <= limit[:, None], axis=1)

    labels = assign()
    for _ in range(300):
        E = np.eye(k)[labels]
        counts = E.sum(axis=0)
        filled = counts > 0
        centres[filled] = (E.T @ Z)[filled] / counts[filled, None]
        new = assign()
        if np.array_equal(new, labels):
            break
        labels = new
    return labels


def nleep(F: np.ndarray, y: np.ndarray, c: int, variance: float = 0.8, per_class: int = 5, seed: int = 0) -> float:
    Z = exact_pca(F, variance=variance)
    n, d = Z.shape
    if d == 0:
        return leep(np.ones((n, 1)), y, c)
    K = per_class * c
    labels = kmeans(Z, kmeans_pp(Z, K, seed))
    floor = 1e-6 * float(np.mean(Z.var(axis=0))) or 5e-324
    Z2 = Z * Z

    def m_step(resp: np.ndarray):
        nk = resp.sum(axis=0) + 10 * EPS
        means = (resp.T @ Z) / nk[:, None]
        var = np.maximum(0.0, (resp.T @ Z2) / nk[:, None] - means**2) + floor
        return np.log(nk / nk.sum()), means, var

    def e_step(params):
        logw, means, var = params
        maha = np.maximum(0.0, Z2 @ (1 / var).T - 2 * Z @ (means / var).T + np.sum(means**2 / var, axis=1)[None, :])
        logp = logw[None, :] - 0.5 * (d * LOG_2PI + np.sum(np.log(var), axis=1))[None, :] - 0.5 * maha
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
    return leep(theta, y, c)


# ------------------------------------------------------------------------------------------------------------
# H-score (§11.4): TLlib's np.cov + pinv, D×D
# ------------------------------------------------------------------------------------------------------------


def hscore(F: np.ndarray, y: np.ndarray, c: int) -> float:
    n, d = F.shape
    covf = np.cov(F, rowvar=False)
    covg = np.cov(class_means(F, y, c)[y], rowvar=False)
    pinv = np.linalg.pinv(covf, rtol=max(n, d) * RANK_EPS, hermitian=True)
    return float(np.sum(pinv * covg))  # tr(pinv·covg) of two symmetric matrices


def hscore_shrinkage(F: np.ndarray, y: np.ndarray, c: int) -> float:
    """TLlib's regularised H-score: Ledoit–Wolf covariance (scikit-learn's shrinkage formula; Σ_jk (X²ᵀX²)_jk taken
    as Σ_i ‖x_i‖⁴ instead of a second D×D product), then pinv as above."""
    n, d = F.shape
    X = F - F.mean(axis=0)
    S = X.T @ X / n
    mu = np.trace(S) / d
    if d == 1:
        s = 0.0
    else:
        delta_ = float(np.sum(S * S))
        beta = (float(np.sum(np.sum(X * X, axis=1) ** 2)) / n - delta_) / (d * n)
        delta = (delta_ - 2 * mu * np.trace(S) + d * mu**2) / d
        b = min(beta, delta)
        s = 0.0 if delta <= 0 or b == 0 else b / delta
    sigma = (1 - s) * S
    sigma[np.diag_indices(d)] += s * mu
    covg = np.cov(class_means(X, y, c)[y], rowvar=False)
    pinv = np.linalg.pinv(sigma, rtol=max(n, d) * RANK_EPS, hermitian=True)
    return float(np.sum(pinv * ((1 - s) * covg)))


# ------------------------------------------------------------------------------------------------------------
# GBC (§11.5)
# ------------------------------------------------------------------------------------------------------------


def gbc_of(X: np.ndarray, y: np.ndarray, c: int, gaussian: str) -> float:
    M = class_means(X, y, c)
    counts = np.bincount(y, minlength=c)
    V = np.maximum((onehot(y, c).T @ (X - M[y]) ** 2) / counts[:, None], 1e-4)
    diff2 = (M[:, None, :] - M[None, :, :]) ** 2
    if gaussian == "spherical":
        v = V.mean(axis=1)
        avg = (v[:, None] + v[None, :]) / 2
        db = diff2.sum(axis=2) / avg / 8 + 0.5 * (np.log(avg) - 0.5 * np.log(v)[:, None] - 0.5 * np.log(v)[None, :])
    else:
        avg = (V[:, None, :] + V[None, :, :]) / 2
        half = 0.5 * np.log(V).sum(axis=1)
        db = (diff2 / avg).sum(axis=2) / 8 + 0.5 * (np.log(avg).sum(axis=2) - half[:, None] - half[None, :])
    off = ~np.eye(c, dtype=bool)
    return float(-np.sum(np.exp(-db[off])))


def gbc(F: np.ndarray, y: np.ndarray, c: int, gaussian: str = "spherical", pca: int = 64, exact: bool = False) -> float:
    """The GBC experiments reduce with scikit-learn's PCA(64), whose `auto` solver is randomised at this size
    (7 power iterations when k < min(N, D)/10, else 4)."""
    if pca > 0:
        if exact:
            X = exact_pca(F, components=pca)
        else:
            X = randomized_pca(F, pca, 7 if pca < 0.1 * min(F.shape) else 4, 0)
    else:
        X = F
    return gbc_of(X, y, c, gaussian)


# ------------------------------------------------------------------------------------------------------------
# TransRate (§11.6): TLlib, slogdet of D×D
# ------------------------------------------------------------------------------------------------------------


def transrate(F: np.ndarray, y: np.ndarray, c: int, eps: float = 1e-4) -> float:
    X = F - F.mean(axis=0)

    def rate(Z: np.ndarray) -> float:
        n, d = Z.shape
        A = Z.T @ Z / (n * eps)
        A[np.diag_indices(d)] += 1
        return 0.5 * float(np.linalg.slogdet(A)[1])

    return rate(X) - sum(rate(X[y == k]) for k in range(c)) / c


# ------------------------------------------------------------------------------------------------------------
# PARC (§11.7): PCA (randomised, iterated_power 1, seed 1919), StandardScaler, np.corrcoef, Spearman
# ------------------------------------------------------------------------------------------------------------


def zscore(F: np.ndarray) -> np.ndarray:
    n = F.shape[0]
    mean = F.mean(axis=0)
    X = F - mean
    var = (X * X).mean(axis=0)
    const = var <= n * EPS * var + (n * mean * EPS) ** 2
    X /= np.where(const, 1.0, np.sqrt(var))
    X[:, const] = 0.0
    return X


def parc(F: np.ndarray, y: np.ndarray, c: int, dims: int = 32, exact: bool = False) -> float:
    n = F.shape[0]
    if dims > 0:
        F = exact_pca(F, components=min(dims, n)) if exact else randomized_pca(F, min(dims, n), 1, 1919)
    corr = np.corrcoef(zscore(F))
    iu = np.triu_indices(n, 1)
    rdm_y = (y[:, None] != y[None, :])[iu].astype(float)  # same ranks as 1 − corrcoef(one-hot rows)
    return 100.0 * float(stats.spearmanr(1.0 - corr[iu], rdm_y)[0])


# ------------------------------------------------------------------------------------------------------------
# SFDA (docs/transferability.md#sfda), primal D×D as the reference
# ------------------------------------------------------------------------------------------------------------


def sfda(F: np.ndarray, y: np.ndarray, c: int) -> float:
    """The reference builds D×D scatters and solves the generalised eigenproblem of the between-class scatter against
    the shrunk within-class one; its classifier only depends on B⁻¹Mᵀ, which one D×D solve gives."""
    X = F - F.mean(axis=0)
    n, d = X.shape
    counts = np.bincount(y, minlength=c)
    log_prior = np.log(counts / n)

    def scatter(X):
        M = class_means(X, y, c)
        W = X - M[y]
        return W.T @ W / n, M

    Sw, M = scatter(X)
    start = Sw.sum(axis=1)
    if np.linalg.norm(start) <= 1e-10 * np.trace(Sw) * math.sqrt(d):
        start = Sw[:, int(np.argmax(np.diag(Sw)))].copy()
    x = start
    for _ in range(3):
        v = Sw @ x
        v /= np.linalg.norm(v)
        x = Sw @ v
        x /= np.linalg.norm(x)
    s = max(math.exp(-5.0 * float(x @ Sw @ v)), 1e-10)

    def proba(X, Sw, M):
        B = (1 - s) * Sw
        B[np.diag_indices(d)] += s * np.trace(Sw) / d
        Zc = np.linalg.solve(B, M.T)
        return softmax_rows(X @ Zc - 0.5 * np.sum(M * Zc.T, axis=1) + log_prior)

    q = softmax_rows(proba(X, Sw, M))[np.arange(n), y]
    others = (M.sum(axis=0) - M) / (c - 1)
    X2 = q[:, None] * X + (1 - q)[:, None] * others[y]
    Sw2, M2 = scatter(X2)
    return float(proba(X2, Sw2, M2)[np.arange(n), y].mean())


# ------------------------------------------------------------------------------------------------------------
# kNN leave-one-out (§11.8 with taskmap's tie rules): one distance matrix
# ------------------------------------------------------------------------------------------------------------


def knn(F: np.ndarray, y: np.ndarray, c: int, k: int = 1) -> float:
    X = F - F.mean(axis=0)
    n = X.shape[0]
    sq = (X * X).sum(axis=1)
    D2 = sq[:, None] + sq[None, :] - 2 * (X @ X.T)
    np.fill_diagonal(D2, np.inf)
    rows = np.arange(n)
    if k == 1:
        pred = y[np.argmin(D2, axis=1)]
    else:
        idx = np.argpartition(D2, k - 1, axis=1)[:, :k]
        order = np.lexsort((idx, D2[rows[:, None], idx]), axis=1)  # by distance, then image index
        idx = np.take_along_axis(idx, order, axis=1)
        votes = y[idx]
        counts = np.zeros((n, c))
        np.add.at(counts, (np.repeat(rows, k), votes.ravel()), 1)
        tied = counts[rows[:, None], votes] == counts.max(axis=1)[:, None]
        pred = votes[rows, np.argmax(tied, axis=1)]
    return 100.0 * float(np.mean(pred == y))


# ------------------------------------------------------------------------------------------------------------
# Linear probe: 100 × the best, over the λ grid, of the stratified k-fold (seed 0) pooled accuracy of an L2
# multinomial logistic regression on features z-scored once over all N images; each fold walks the grid from strong
# to weak regularisation with warm starts; ≤ 100 iterations per fit (the protocol of
# docs/transferability.md#linear-probe), fitted with scipy's L-BFGS-B.
# ------------------------------------------------------------------------------------------------------------

LAMBDAS = [1, 1e-1, 1e-2, 1e-3, 1e-4]


def stratified_folds(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    rnd = mulberry32(seed)
    fold = np.empty(len(y), dtype=int)
    nxt = 0
    for cl in np.unique(y):
        m = list(np.nonzero(y == cl)[0])
        for i in range(len(m) - 1, 0, -1):
            j = int(math.floor(rnd() * (i + 1)))
            m[i], m[j] = m[j], m[i]
        for r in m:
            fold[r] = nxt % k
            nxt += 1
    return fold


def standardise(X: np.ndarray, rows: np.ndarray):
    n = len(rows)
    mu = X[rows].mean(axis=0)
    var = ((X[rows] - mu) ** 2).mean(axis=0)
    keep = var > n * EPS * var + (n * mu * EPS) ** 2
    scale = np.where(keep & (var > 0), 1 / np.sqrt(np.where(var > 0, var, 1)), 0.0)
    return mu, scale


def fit_logistic(Xs: np.ndarray, t: np.ndarray, c: int, lam: float, init: np.ndarray | None, maxiter: int = 100) -> np.ndarray:
    n, d = Xs.shape
    T = np.eye(c)[t]

    def f(theta):
        W = theta[: d * c].reshape(d, c)
        Z = Xs @ W + theta[d * c :]
        mx = Z.max(axis=1, keepdims=True)
        E = np.exp(Z - mx)
        S = E.sum(axis=1, keepdims=True)
        loss = float(np.sum(mx[:, 0] + np.log(S[:, 0]) - Z[np.arange(n), t])) / n + 0.5 * lam * float(np.sum(W * W))
        R = (E / S - T) / n
        return loss, np.concatenate([(Xs.T @ R + lam * W).ravel(), R.sum(axis=0)])

    x0 = np.zeros(d * c + c) if init is None else init
    r = optimize.minimize(f, x0, jac=True, method="L-BFGS-B", options={"maxcor": 10, "gtol": 1e-5, "ftol": 1e-12, "maxiter": maxiter})
    return r.x


def logistic_predict(X: np.ndarray, theta: np.ndarray, d: int, c: int) -> np.ndarray:
    return np.argmax(X @ theta[: d * c].reshape(d, c) + theta[d * c :], axis=1)


def linear(F: np.ndarray, y: np.ndarray, c: int, folds: int = 5, seed: int = 0) -> float:
    n, d = F.shape
    folds = min(folds, n)
    fold = stratified_folds(y, folds, seed)
    mu, scale = standardise(F, np.arange(n))
    X = (F - mu) * scale
    acc = np.zeros(len(LAMBDAS))
    for f in range(folds):
        tr, te = np.nonzero(fold != f)[0], np.nonzero(fold == f)[0]
        theta = None
        for li, lam in enumerate(LAMBDAS):  # strongest first, warm-started
            theta = fit_logistic(X[tr], y[tr], c, lam, theta)
            acc[li] += np.sum(logistic_predict(X[te], theta, d, c) == y[te])
    return 100.0 * float(acc.max()) / n


# ------------------------------------------------------------------------------------------------------------
# Dispatch and timing
# ------------------------------------------------------------------------------------------------------------


def parse(score_id: str) -> tuple[str, dict[str, str]]:
    family, _, rest = score_id.partition(":")
    params = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, value = item.partition("=")
        params[key] = value if eq else "true"
    return family, params


def scorer(score_id: str):
    """(function of (F or θ, y, C), whether it takes probabilities, the route in words)."""
    family, p = parse(score_id)
    if family == "logme":
        if p.get("solver", "fixed-point") == "icml":
            return logme_icml, False, "eigh FᵀF (D×D), m and y−Fm formed"
        return logme_fixed_point, False, "eigh of the smaller Gram side"
    if family == "leep":
        return leep, True, "vectorised"
    if family == "nce":
        return nce, True, "bincount"
    if family == "nleep":
        kw = dict(variance=float(p.get("variance", 0.8)), per_class=int(p.get("per-class", 5)), seed=int(p.get("seed", 0)))
        return (lambda F, y, c: nleep(F, y, c, **kw)), False, "exact PCA (eigh) + diagonal GMM, same init"
    if family == "hscore":
        if p.get("shrinkage", "false") == "true":
            return hscore_shrinkage, False, "Ledoit–Wolf D×D + pinv (eigh)"
        return hscore, False, "np.cov D×D + pinv (eigh)"
    if family == "gbc":
        kw = dict(gaussian=p.get("gaussian", "spherical"), pca=int(p.get("pca", 64)))
        return (lambda F, y, c, exact=False: gbc(F, y, c, exact=exact, **kw)), False, "randomised PCA (7 power its)"
    if family == "transrate":
        eps = float(p.get("eps", 1e-4))
        return (lambda F, y, c: transrate(F, y, c, eps)), False, "slogdet D×D, (C+1)×"
    if family == "parc":
        dims = int(p.get("dims", 32))
        return (lambda F, y, c, exact=False: parc(F, y, c, dims, exact=exact)), False, "randomised PCA + corrcoef + spearmanr"
    if family == "sfda":
        return sfda, False, "D×D scatter + solve, 2×"
    if family == "knn":
        k = int(p.get("k", 1))
        return (lambda F, y, c: knn(F, y, c, k)), False, "one N×N distance matrix"
    if family == "linear":
        folds = int(p.get("folds", 5))
        return (lambda F, y, c: linear(F, y, c, folds)), False, f"scipy L-BFGS-B, {folds}×5 warm-started fits"
    raise SystemExit(f"transferability_numpy.py: no numpy version of score {score_id!r}")


def blas_info() -> str:
    try:
        cfg = np.show_config(mode="dicts")
        b = cfg["Build Dependencies"]["blas"]
        return f"{b.get('name')} {b.get('version')}"
    except Exception:  # noqa: BLE001 — only for the printout
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    with open(os.path.join(args.dir, "meta.json")) as f:
        meta = json.load(f)
    y = np.load(os.path.join(args.dir, "labels.npy")).astype(np.int64)
    c = int(y.max()) + 1
    assert np.array_equal(np.unique(y), np.arange(c)), "labels must be codes 0…C−1"

    def features(m: int) -> np.ndarray:
        return np.load(os.path.join(args.dir, f"features_{m:03d}.npy")).astype(np.float64)

    def probabilities(m: int) -> np.ndarray:
        return np.load(os.path.join(args.dir, f"probs_{m:03d}.npy")).astype(np.float64)

    out = {"numpy": np.__version__, "scipy": scipy.__version__, "blas": blas_info(), "budget": args.budget, "scores": {}}
    for sid in meta["scores"]:
        fn, probs, route = scorer(sid)
        limit = int(meta["limits"].get(sid, meta["candidates"]))
        seconds, values, exact = [], [], []
        m = 0
        while m < limit:
            x = probabilities(m) if probs else features(m)
            t0 = time.perf_counter()
            v = fn(x, y, c)
            dt = time.perf_counter() - t0
            seconds.append(dt)
            values.append(v)
            if args.check and route.startswith("randomised"):
                exact.append(fn(x, y, c, exact=True))
            if m == 0 and dt * limit > args.budget:
                limit = max(1, min(limit, int(args.budget // dt)))
            m += 1
        entry = {"route": route, "candidates": len(seconds), "seconds": seconds, "values": values}
        if exact:
            entry["exactValues"] = exact
        out["scores"][sid] = entry
        print(f"  numpy {sid}: {sum(seconds):.2f} s on {len(seconds)} candidates", file=sys.stderr, flush=True)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
