"""Independent numpy reference for taskmap's RSA, DDS and CKA measures.

Written from the specification in ../shared/docs/ALGORITHMS.md (section 0 conventions, section 1 RSA,
section 2 DDS incl. 2.1 normalisations, 2.2 functions f, 2.3 comparators g, 2.5 edge cases, section 3 CKA).
It deliberately uses only numpy and straightforward loops / closed forms so that it can serve as an oracle
for the TypeScript implementation; scipy is used only in check_reference.py to cross-check the rank
statistics implemented here.

Conventions (see README.md in this folder):
- Every input is converted to float64 first (float32 values are upcast exactly); all work is float64.
- A representation is X (n x p), one row per image. Tensor normalisations take the per-image shape as
  (H, W, C) plus a layout: NHWC flat index j = (h*W + w)*C + c, NCHW flat index j = (c*H + h)*W + w.
- Upper triangle = entries i < j, row-major (numpy triu_indices(n, 1)).
- Ranks: 1-based, ties get the average of the positions they occupy.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

EPS_TENSOR = 1e-9
EPS_MACHINE = float(np.finfo(np.float64).eps)  # 2**-52

NORMS = ("none", "centering", "znorm", "group_norm", "instance_norm", "layer_norm", "batch_norm")
FUNCS = ("linear", "rbf", "lap", "pearson", "euclidean", "cosine")
CENTERINGS = ("none", "biased", "unbiased")
RDM_DISTANCES = ("correlation", "euclidean", "sqeuclidean", "cosine")


def f64(X) -> np.ndarray:
    """(n x p) float64 copy of X (any trailing dimensions are flattened in C order)."""
    A = np.asarray(X)
    A = A.reshape(A.shape[0], -1)
    return np.array(A, dtype=np.float64, copy=True)


# ---------------------------------------------------------------------------------------------------------
# Elementary statistics (section 0 / section 12)
# ---------------------------------------------------------------------------------------------------------

def rank_average(v: Sequence[float]) -> np.ndarray:
    """1-based ranks, ties get the mean of the positions they occupy (scipy rankdata 'average')."""
    v = np.asarray(v, dtype=np.float64)
    m = v.size
    order = np.argsort(v, kind="mergesort")
    ranks = np.empty(m, dtype=np.float64)
    sv = v[order]
    i = 0
    while i < m:
        j = i
        while j + 1 < m and sv[j + 1] == sv[i]:
            j += 1
        # positions i..j (0-based) -> 1-based positions i+1..j+1, average (i+j)/2 + 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def pearson(a: Sequence[float], b: Sequence[float]) -> float:
    """Pearson correlation (mean removed), NaN if either input is constant; clipped to [-1, 1]."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    da = a - a.mean()
    db = b - b.mean()
    den = math.sqrt(float(np.dot(da, da)) * float(np.dot(db, db)))
    if den == 0.0:
        return float("nan")
    return max(-1.0, min(1.0, float(np.dot(da, db)) / den))


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman rho = Pearson correlation of the average ranks."""
    return pearson(rank_average(a), rank_average(b))


def cosine_similarity_vec(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine of two vectors without mean removal (the DDS reference's 'pearson' comparator)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    den = math.sqrt(float(np.dot(a, a)) * float(np.dot(b, b)))
    if den == 0.0:
        return float("nan")
    return float(np.dot(a, b)) / den


def kendall_tau_b(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall tau-b over all pairs i < j (O(m^2), written straight from the definition)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    m = a.size
    n0 = m * (m - 1) // 2
    sa = np.sign(a[:, None] - a[None, :])
    sb = np.sign(b[:, None] - b[None, :])
    iu = np.triu_indices(m, 1)
    pa = sa[iu]
    pb = sb[iu]
    prod = pa * pb
    nc = int(np.count_nonzero(prod > 0))
    nd = int(np.count_nonzero(prod < 0))
    n1 = int(np.count_nonzero(pa == 0))  # pairs tied in a (incl. tied in both)
    n2 = int(np.count_nonzero(pb == 0))
    den = math.sqrt(float(n0 - n1) * float(n0 - n2))
    if den == 0.0:
        return float("nan")
    return max(-1.0, min(1.0, (nc - nd) / den))


def upper(A: np.ndarray) -> np.ndarray:
    n = A.shape[0]
    return A[np.triu_indices(n, 1)]


# ---------------------------------------------------------------------------------------------------------
# Section 2.1: the seven feature normalisations
# ---------------------------------------------------------------------------------------------------------

def _to_nhwc(X: np.ndarray, shape: Sequence[int], layout: str) -> np.ndarray:
    """View the flat (n, p) features as an (n, H, W, C) tensor; shape is (H, W, C)."""
    H, W, C = (int(s) for s in shape)
    n, p = X.shape
    if H * W * C != p:
        raise ValueError(f"shape {tuple(shape)} has {H * W * C} elements, representation has p = {p}")
    if layout == "NHWC":
        return X.reshape(n, H, W, C)
    if layout == "NCHW":
        return X.reshape(n, C, H, W).transpose(0, 2, 3, 1)
    raise ValueError(f"unknown layout {layout!r}")


def _from_nhwc(T: np.ndarray, layout: str) -> np.ndarray:
    n = T.shape[0]
    if layout == "NHWC":
        return np.ascontiguousarray(T).reshape(n, -1)
    return np.ascontiguousarray(T.transpose(0, 3, 1, 2)).reshape(n, -1)


def is_constant_feature(var: np.ndarray, mean: np.ndarray, n: int) -> np.ndarray:
    """scikit-learn's current rule: var <= n*eps*var + (n*mean*eps)^2 (eps = 2^-52)."""
    upper_bound = n * EPS_MACHINE * var + (n * mean * EPS_MACHINE) ** 2
    return var <= upper_bound


def znorm(X) -> np.ndarray:
    """StandardScaler semantics: population std, a constant feature gets scale 1 (so it becomes ~0)."""
    X = f64(X)
    n = X.shape[0]
    mean = X.mean(axis=0)
    var = ((X - mean) ** 2).mean(axis=0)
    scale = np.sqrt(var)
    scale[is_constant_feature(var, mean, n)] = 1.0
    return (X - mean) / scale


def group_norm(X, shape, layout="NHWC", groups=2, eps=EPS_TENSOR) -> np.ndarray:
    """Per image and per contiguous channel block g = floor(c / (C/G)): (x - mu) / sqrt(var + eps)."""
    X = f64(X)
    T = _to_nhwc(X, shape, layout)
    n, H, W, C = T.shape
    if C % groups != 0:
        raise ValueError(f"group_norm: C = {C} is not a multiple of G = {groups}")
    out = np.empty_like(T)
    cg = C // groups
    for g in range(groups):
        block = T[:, :, :, g * cg:(g + 1) * cg]
        flat = block.reshape(n, -1)
        mu = flat.mean(axis=1)
        v = ((flat - mu[:, None]) ** 2).mean(axis=1)
        out[:, :, :, g * cg:(g + 1) * cg] = (block - mu[:, None, None, None]) / np.sqrt(v + eps)[:, None, None, None]
    return _from_nhwc(out, layout)


def instance_norm(X, shape, layout="NHWC", eps=EPS_TENSOR) -> np.ndarray:
    C = int(shape[2])
    return group_norm(X, shape, layout, groups=C, eps=eps)


def layer_norm(X, shape, layout="NHWC", eps=EPS_TENSOR) -> np.ndarray:
    return group_norm(X, shape, layout, groups=1, eps=eps)


def batch_norm(X, shape, layout="NHWC", eps=EPS_TENSOR) -> np.ndarray:
    """Per channel c over all images and positions: (x - mu_c) / sqrt(var_c + eps)."""
    X = f64(X)
    T = _to_nhwc(X, shape, layout)
    n, H, W, C = T.shape
    out = np.empty_like(T)
    for c in range(C):
        vals = T[:, :, :, c]
        mu = vals.mean()
        v = ((vals - mu) ** 2).mean()
        out[:, :, :, c] = (vals - mu) / math.sqrt(v + eps)
    return _from_nhwc(out, layout)


def normalise(X, norm: str, shape=None, layout: str = "NHWC") -> np.ndarray:
    X = f64(X)
    if norm == "none":
        return X
    if norm == "centering":
        return X - X.mean(axis=0)
    if norm == "znorm":
        return znorm(X)
    if shape is None:
        raise ValueError(f"{norm} needs the per-image shape (H, W, C)")
    if norm == "group_norm":
        return group_norm(X, shape, layout, groups=2)
    if norm == "instance_norm":
        return instance_norm(X, shape, layout)
    if norm == "layer_norm":
        return layer_norm(X, shape, layout)
    if norm == "batch_norm":
        return batch_norm(X, shape, layout)
    raise ValueError(f"unknown normalisation {norm!r}")


# ---------------------------------------------------------------------------------------------------------
# Section 2.2: the six functions f (n x n matrices)
# ---------------------------------------------------------------------------------------------------------

def _sq_dists_expansion(X: np.ndarray) -> np.ndarray:
    """S_ij = |x_i|^2 + |x_j|^2 - 2 x_i.x_j (not clipped, diagonal not forced)."""
    G = X @ X.T
    sq = np.einsum("ij,ij->i", X, X)
    return sq[:, None] + sq[None, :] - 2.0 * G


def f_linear(X) -> np.ndarray:
    X = f64(X)
    return X @ X.T


def rbf_median(X) -> float:
    """Median of all n^2 entries of S (both triangles and the n ~zero diagonal entries)."""
    return float(np.median(_sq_dists_expansion(f64(X)).ravel()))


def f_rbf(X, t: float = 0.5) -> np.ndarray:
    X = f64(X)
    S = _sq_dists_expansion(X)
    m = float(np.median(S.ravel()))
    if m == 0.0:
        raise ValueError("rbf: median squared distance is 0")
    return np.exp(-S / (2.0 * t * t * m))


def f_lap(X, gamma: float | None = None) -> np.ndarray:
    X = f64(X)
    n, p = X.shape
    if gamma is None:
        gamma = 1.0 / p
    L1 = np.abs(X[:, None, :] - X[None, :, :]).sum(axis=2)
    return np.exp(-gamma * L1)


def f_pearson(X) -> np.ndarray:
    """1 - R, R = Pearson correlation between image rows (clipped to [-1, 1])."""
    X = f64(X)
    Xc = X - X.mean(axis=1, keepdims=True)
    norms = np.sqrt(np.einsum("ij,ij->i", Xc, Xc))
    if np.any(norms == 0.0):
        bad = int(np.nonzero(norms == 0.0)[0][0])
        raise ValueError(f"pearson RDM: image row {bad} is constant")
    Z = Xc / norms[:, None]
    R = np.clip(Z @ Z.T, -1.0, 1.0)
    return 1.0 - R


def f_euclidean(X) -> np.ndarray:
    """sqrt(max(0, expansion)), diagonal exactly 0 (not squared)."""
    X = f64(X)
    D = np.sqrt(np.maximum(_sq_dists_expansion(X), 0.0))
    np.fill_diagonal(D, 0.0)
    return D


def f_cosine(X) -> np.ndarray:
    """1 - Xh Xh^T with rows scaled to unit L2 norm; an all-zero row stays zero."""
    X = f64(X)
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    safe = np.where(norms == 0.0, 1.0, norms)
    Xh = X / safe[:, None]
    return 1.0 - Xh @ Xh.T


def apply_f(X, f: str, t: float = 0.5) -> np.ndarray:
    if f == "linear":
        return f_linear(X)
    if f == "rbf":
        return f_rbf(X, t)
    if f == "lap":
        return f_lap(X)
    if f == "pearson":
        return f_pearson(X)
    if f == "euclidean":
        return f_euclidean(X)
    if f == "cosine":
        return f_cosine(X)
    raise ValueError(f"unknown function f {f!r}")


# ---------------------------------------------------------------------------------------------------------
# Section 2.3: centring and the comparators g
# ---------------------------------------------------------------------------------------------------------

def centre_gram(K: np.ndarray, centering: str) -> np.ndarray:
    K = np.array(K, dtype=np.float64, copy=True)
    n = K.shape[0]
    if centering == "none":
        return K
    if centering == "biased":
        m = K.sum(axis=0) / n  # column means
        m = m - m.mean() / 2.0
        return K - m[:, None] - m[None, :]
    if centering == "unbiased":
        if n < 4:
            raise ValueError("unbiased centring needs n >= 4")
        np.fill_diagonal(K, 0.0)
        m = K.sum(axis=0) / (n - 2)
        m = m - m.sum() / (2.0 * (n - 1))
        Kc = K - m[:, None] - m[None, :]
        np.fill_diagonal(Kc, 0.0)
        return Kc
    raise ValueError(f"unknown centring {centering!r}")


def cka_from_grams(K, L, centering: str = "unbiased") -> float:
    Kc = centre_gram(K, centering)
    Lc = centre_gram(L, centering)
    num = float(np.sum(Kc * Lc))
    den = math.sqrt(float(np.sum(Kc * Kc))) * math.sqrt(float(np.sum(Lc * Lc)))
    if den == 0.0:
        raise ValueError("undefined: representation has no variance")
    return num / den


def compare(K, L, g: str = "cka", centering: str = "unbiased") -> float:
    """g(K, L): cka | spearman | cosine-triu (reference 'pearson') | pearson (true Pearson of triangles)."""
    if g == "cka":
        return cka_from_grams(K, L, centering)
    Kc = centre_gram(K, centering)
    Lc = centre_gram(L, centering)
    a, b = upper(Kc), upper(Lc)
    if g == "spearman":
        return spearman(a, b)
    if g == "cosine-triu":
        return cosine_similarity_vec(a, b)
    if g == "pearson":
        return pearson(a, b)
    raise ValueError(f"unknown comparator {g!r}")


# ---------------------------------------------------------------------------------------------------------
# DDS (section 2), RSA (section 1), RDMs, stand-alone CKA (section 3)
# ---------------------------------------------------------------------------------------------------------

def dds_matrix(X, norm: str, f: str, shape=None, layout: str = "NHWC") -> np.ndarray:
    return apply_f(normalise(X, norm, shape, layout), f)


def dds(X, Y, norm: str, f: str, g: str = "cka", centering: str = "unbiased",
        shape_x=None, shape_y=None, layout: str = "NHWC") -> float:
    K = dds_matrix(X, norm, f, shape_x, layout)
    L = dds_matrix(Y, norm, f, shape_y, layout)
    return compare(K, L, g, centering)


def rdm(X, distance: str = "correlation") -> np.ndarray:
    """RDM of the rows of X as given (no feature centring here; rsa() centres first)."""
    X = f64(X)
    if distance == "correlation":
        return f_pearson(X)
    if distance == "cosine":
        return f_cosine(X)
    # euclidean / sqeuclidean computed from explicit differences (exact zero diagonal)
    diff = X[:, None, :] - X[None, :, :]
    S = np.einsum("ijk,ijk->ij", diff, diff)
    if distance == "sqeuclidean":
        return S
    if distance == "euclidean":
        return np.sqrt(S)
    raise ValueError(f"unknown RDM distance {distance!r}")


def rsa_rdm(X, distance: str = "correlation") -> np.ndarray:
    """RSA step 1 + 2: centre each feature over the images, then the RDM."""
    X = f64(X)
    return rdm(X - X.mean(axis=0), distance)


def rsa(X, Y, distance: str = "correlation", comparator: str = "spearman") -> float:
    a = upper(rsa_rdm(X, distance))
    b = upper(rsa_rdm(Y, distance))
    if comparator == "spearman":
        return spearman(a, b)
    if comparator == "pearson":
        return pearson(a, b)
    if comparator == "kendall":
        return kendall_tau_b(a, b)
    raise ValueError(f"unknown RSA comparator {comparator!r}")


def cka(X, Y, kernel: str = "linear", debiased: bool = False, t: float = 0.5) -> float:
    """Stand-alone CKA on raw features: Gram form with biased (default) or unbiased centring."""
    if kernel == "linear":
        K, L = f_linear(X), f_linear(Y)
    elif kernel == "rbf":
        K, L = f_rbf(X, t), f_rbf(Y, t)
    else:
        raise ValueError(f"unknown CKA kernel {kernel!r}")
    return cka_from_grams(K, L, "unbiased" if debiased else "biased")


def cka_linear_feature_space(X, Y, debiased: bool = False) -> float:
    """Section 3 feature-space forms (used only as a cross-check of the Gram forms)."""
    X = f64(X)
    Y = f64(Y)
    X = X - X.mean(axis=0)
    Y = Y - Y.mean(axis=0)
    n = X.shape[0]
    if not debiased:
        return float(np.sum((Y.T @ X) ** 2)) / (
            math.sqrt(float(np.sum((X.T @ X) ** 2))) * math.sqrt(float(np.sum((Y.T @ Y) ** 2))))

    def u(A, B):
        na = np.einsum("ij,ij->i", A, A)
        nb = np.einsum("ij,ij->i", B, B)
        return (float(np.sum((A.T @ B) ** 2)) - n / (n - 2) * float(np.dot(na, nb))
                + float(np.sum(A * A)) * float(np.sum(B * B)) / ((n - 1) * (n - 2)))

    return u(X, Y) / math.sqrt(u(X, X) * u(Y, Y))


# ---------------------------------------------------------------------------------------------------------
# Closed-form fixtures of section 13 (pure Python integer arithmetic, then float64 exactly as specified)
# ---------------------------------------------------------------------------------------------------------

def fixture_dds13():
    """Section 13.1: n = 10, shape (16, 16, 8) NHWC, p = 2048. Returns X, Z, Y as (10, 2048) float64."""
    n, p = 10, 2048
    X = np.empty((n, p))
    Z = np.empty((n, p))
    for i in range(n):
        for f in range(p):
            c = f % 8
            if f % 64 == 5:
                X[i, f] = 0.25
            else:
                X[i, f] = ((((i + 1) * (f + 3) * 7919) % 1009) / 1009 - 0.5) * (1 + c) + 0.1 * c
            if f % 97 == 5:
                Z[i, f] = 0.25
            else:
                Z[i, f] = ((((i + 1) * (f + 5) * 104729) % 1013) / 1013 - 0.5) * (1 + c) + 0.1 * c
    Y = np.maximum(0.0, 0.5 * X + Z - 0.5)
    return X, Z, Y


def fixture_cca13():
    """Section 13.3: n = 30, X 30 x 6, Y 30 x 5."""
    n = 30
    X = np.empty((n, 6))
    Y = np.empty((n, 5))
    for i in range(n):
        for j in range(6):
            X[i, j] = (((i + 1) * (j + 2) * 31) % 37) / 37 + 0.1 * j
    for i in range(n):
        for j in range(5):
            Y[i, j] = (((i + 3) * (j + 1) * 17) % 29) / 29 + 0.5 * X[i, j] - 0.2 * X[i, (j + 1) % 6]
    return X, Y


def pairwise_matrix(reps: Sequence[np.ndarray], fn) -> list[list[float]]:
    """Evaluate fn(a, b) for i <= j and mirror (the DDS reference's convention)."""
    T = len(reps)
    M = [[0.0] * T for _ in range(T)]
    for i in range(T):
        for j in range(i, T):
            v = float(fn(i, j))
            M[i][j] = v
            M[j][i] = v
    return M


__all__: Iterable[str] = [name for name in dir() if not name.startswith("_")]
