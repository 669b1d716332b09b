"""Independent reference for the logistic head (src/transferability/logistic.ts).

Run from the repository root:   python3 test/reference/logistic_reference.py
Writes test/fixtures/transferability/logistic.json (deterministic).

Written from the definition in the module comment of logistic.ts / docs/transferability.md#linear-probe, not from
the TypeScript code, with numpy and scipy.optimize only:
- standardisation: per column, minus the mean of the training rows, divided by their population standard deviation;
  a column is constant (maps to 0) when var <= n*eps*var + (n*eps*mean)**2 (scikit-learn's StandardScaler rule);
- objective: f(W, b) = (1/n) sum_i [logsumexp(z_i) - z_{i,y_i}] + (lam/2) ||W||_F^2 with z_i = W^T x~_i + b, one
  column per class present in the training rows, b unpenalised and reported centred (sum b = 0);
- minimiser: scipy L-BFGS-B with tight tolerances, then Newton steps with the exact Hessian (least squares: the
  Hessian is singular along the common shift of b) until the gradient is at rounding level;
- stratified folds: all rows shuffled once by Fisher-Yates from the end on mulberry32(seed); classes taken in the
  order of their first row in the shuffle, each class's rows in shuffle order, dealt round-robin to the folds
  continuing from the previous class; lambda is chosen by pooled held-out accuracy, ties to the larger lambda; each
  fold standardised on its own training rows.

Inputs are closed-form (no random generators), including N < D, a constant column, a duplicated column and a
huge-scale column with a large offset.
"""

from __future__ import annotations

import json
import math
import os
import sys

import numpy as np
from scipy.optimize import minimize

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from rank_reference import mulberry32  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "transferability", "logistic.json")
EPS = np.finfo(np.float64).eps


# ---------------------------------------------------------------------------------------------------------------
# Inputs (the same formulas are written in test/transferability/logistic.test.ts)


def basic_x(n0: int, n1: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows i = n0..n1-1: y = i mod 3, X[i][j] = ((i+1)(j+2)*31 mod 37)/37 + 0.1 j + 0.4 [j == y] (5 columns)."""
    rows, ys = [], []
    for i in range(n0, n1):
        y = i % 3
        rows.append([((i + 1) * (j + 2) * 31 % 37) / 37 + 0.1 * j + (0.4 if j == y else 0.0) for j in range(5)])
        ys.append(y)
    return np.array(rows), np.array(ys)


def fixture132() -> tuple[np.ndarray, np.ndarray]:
    """ALGORITHMS.md 13.2: N = 12, F (12x4), y = i mod 3; the wide variant F_w = [F, F[:, :2]^2, sin F, cos 3F]."""
    F = np.zeros((12, 4))
    y = np.array([i % 3 for i in range(12)])
    for i in range(12):
        for d in range(4):
            F[i, d] = ((i + 1) * (d + 2) * 37 % 17) / 17 + (0.5 * y[i] if d == 0 else 0) + (0.3 if d == 1 and y[i] == 1 else 0)
    Fw = np.hstack([F, F[:, 0:2] ** 2, np.sin(F), np.cos(3 * F)])
    return F, Fw, y


def wide_x() -> tuple[np.ndarray, np.ndarray]:
    """N = 12 < D = 17: F_w, then a constant column 3.5, a copy of column 0, and 1e9 * F[:, 1] + 1e12."""
    F, Fw, y = fixture132()
    X = np.hstack([Fw, np.full((12, 1), 3.5), Fw[:, 0:1], 1e9 * F[:, 1:2] + 1e12])
    return X, y


def binary_x() -> tuple[np.ndarray, np.ndarray]:
    """N = 20, D = 3, y = i mod 2, X[i][j] = ((i+3)(j+1)*17 mod 29)/29 + 0.3 y [j == 0] (overlapping classes)."""
    X = np.array([[((i + 3) * (j + 1) * 17 % 29) / 29 + (0.3 * (i % 2) if j == 0 else 0) for j in range(3)] for i in range(20)])
    return X, np.array([i % 2 for i in range(20)])


# ---------------------------------------------------------------------------------------------------------------
# The head


def standardise(X: np.ndarray):
    n = X.shape[0]
    mean = X.mean(axis=0)
    var = ((X - mean) ** 2).mean(axis=0)
    bound = n * EPS * var + (n * mean * EPS) ** 2
    scale = np.where((var > bound) & (var > 0), 1 / np.sqrt(np.where(var > 0, var, 1)), 0.0)
    return mean, scale


def unpack(theta: np.ndarray, d: int, c: int):
    return theta[: d * c].reshape(d, c), theta[d * c :]


def objective(theta, Z, Y, lam):
    n, d = Z.shape
    c = Y.shape[1]
    W, b = unpack(theta, d, c)
    S = Z @ W + b
    m = S.max(axis=1, keepdims=True)
    E = np.exp(S - m)
    tot = E.sum(axis=1, keepdims=True)
    P = E / tot
    loss = np.sum(m[:, 0] + np.log(tot[:, 0]) - (S * Y).sum(axis=1)) / n + 0.5 * lam * np.sum(W * W)
    R = (P - Y) / n
    gW = Z.T @ R + lam * W
    gb = R.sum(axis=0)
    return loss, np.concatenate([gW.ravel(), gb]), P


def hessian(theta, Z, Y, lam):
    n, d = Z.shape
    c = Y.shape[1]
    _, _, P = objective(theta, Z, Y, lam)
    A = np.hstack([Z, np.ones((n, 1))])  # per class block: rows of W (d) then b (1)
    H = np.zeros(((d + 1) * c, (d + 1) * c))
    for k in range(c):
        for l in range(c):
            w = P[:, k] * ((1.0 if k == l else 0.0) - P[:, l]) / n
            H[k :: c, l :: c] = (A * w[:, None]).T @ A
    # ordering: theta = [W (d x c row-major), b (c)] -> index j*c + k for W[j, k], d*c + k for b[k]; the slicing
    # above puts A's columns j = 0..d at positions j*c + k, which is exactly that layout.
    H[: d * c, : d * c] += lam * np.eye(d * c)
    return H


def fit(X: np.ndarray, y: np.ndarray, lam: float, standardised: bool = False):
    classes = sorted(set(int(v) for v in y))
    mean, scale = (np.zeros(X.shape[1]), np.ones(X.shape[1])) if standardised else standardise(X)
    Z = (X - mean) * scale
    Y = np.zeros((len(y), len(classes)))
    for i, v in enumerate(y):
        Y[i, classes.index(int(v))] = 1
    d, c = Z.shape[1], len(classes)
    theta = np.zeros(d * c + c)
    res = minimize(lambda t: objective(t, Z, Y, lam)[:2], theta, jac=True, method="L-BFGS-B", options={"maxiter": 20000, "gtol": 1e-13, "ftol": 1e-16, "maxcor": 20})
    theta = res.x
    for _ in range(20):
        f, g, _ = objective(theta, Z, Y, lam)
        if np.max(np.abs(g)) < 1e-15:
            break
        H = hessian(theta, Z, Y, lam)
        step = np.linalg.lstsq(H, g, rcond=None)[0]
        theta = theta - step
    f, g, _ = objective(theta, Z, Y, lam)
    W, b = unpack(theta, d, c)
    b = b - b.mean()
    return {"classes": classes, "mean": mean, "scale": scale, "W": W, "b": b, "loss": float(f), "grad": float(np.max(np.abs(g)))}


def predict(model, X: np.ndarray) -> list[int]:
    S = ((X - model["mean"]) * model["scale"]) @ model["W"] + model["b"]
    return [model["classes"][int(k)] for k in np.argmax(S, axis=1)]


def stratified_folds(y: np.ndarray, k: int, seed: int) -> list[int]:
    rnd = mulberry32(seed)
    perm = list(range(len(y)))
    for i in range(len(perm) - 1, 0, -1):
        j = int(math.floor(rnd() * (i + 1)))
        perm[i], perm[j] = perm[j], perm[i]
    groups: dict[int, list[int]] = {}
    for r in perm:
        groups.setdefault(int(y[r]), []).append(r)  # dicts keep insertion order: classes by first appearance
    fold = [0] * len(y)
    nxt = 0
    for members in groups.values():
        for r in members:
            fold[r] = nxt % k
            nxt += 1
    return fold


def cross_validate(X, y, grid, k, seed, standardised=False):
    fold = stratified_folds(y, k, seed)
    hits = [0] * len(grid)
    for f in range(k):
        tr = [i for i in range(len(y)) if fold[i] != f]
        te = [i for i in range(len(y)) if fold[i] == f]
        for g, lam in enumerate(grid):
            m = fit(X[tr], y[tr], lam, standardised)
            pred = predict(m, X[te])
            hits[g] += sum(1 for p, i in zip(pred, te) if p == int(y[i]))
    acc = [h / len(y) for h in hits]
    best = 0
    for g in range(1, len(grid)):
        if acc[g] > acc[best] + 1e-12 or (abs(acc[g] - acc[best]) <= 1e-12 and grid[g] > grid[best]):
            best = g
    return fold, acc, grid[best]


DEFAULT_LAMBDAS = [1.0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5]


PROBE_LAMBDAS = [1.0, 1e-1, 1e-2, 1e-3, 1e-4]


def linear_score(X, y, folds):
    """The `linear` score: the features standardised once over all N images; 100 x the best, over PROBE_LAMBDAS, of
    the accuracy pooled over stratified k-fold cross-validation (seed 0, k capped at N; fits do not re-standardise)."""
    k = min(folds, len(y))
    mean, scale = standardise(X)
    X = (X - mean) * scale
    _, acc, _ = cross_validate(X, y, PROBE_LAMBDAS, k, 0, standardised=True)
    return 100 * max(acc)


def model_json(m):
    return {
        "classes": m["classes"],
        "weights": m["W"].ravel().tolist(),
        "bias": m["b"].tolist(),
        "loss": m["loss"],
        "gradient": m["grad"],
        "mean": m["mean"].tolist(),
        "scale": m["scale"].tolist(),
    }


def main() -> None:
    out = {"fits": [], "cv": []}
    Xb, yb = basic_x(0, 30)
    Xt, yt = basic_x(30, 45)
    for lam in [1.0, 1e-1, 1e-3]:
        m = fit(Xb, yb, lam)
        out["fits"].append({"case": "basic", "lambda": lam, **model_json(m), "testPredictions": predict(m, Xt)})
    Xw, yw = wide_x()
    for lam in [1.0, 1e-2]:
        m = fit(Xw, yw, lam)
        out["fits"].append({"case": "wide", "lambda": lam, **model_json(m), "testPredictions": predict(m, Xw)})
    Xn, yn = binary_x()
    m = fit(Xn, yn, 1e-4)
    out["fits"].append({"case": "binary", "lambda": 1e-4, **model_json(m), "testPredictions": predict(m, Xn)})
    # A class absent from the training rows: codes 0, 2, 5 only (the fit has three columns).
    yg = np.array([[0, 2, 5][i % 3] for i in range(30)])
    m = fit(Xb, yg, 1e-2)
    out["fits"].append({"case": "gapped", "lambda": 1e-2, **model_json(m), "testPredictions": predict(m, Xt)})
    grid = [1.0, 1e-1, 1e-2, 1e-3]
    fold, acc, best = cross_validate(Xb, yb, grid, 3, 7)
    m = fit(Xb, yb, best)
    out["cv"].append({"case": "basic", "folds": 3, "seed": 7, "grid": grid, "fold": fold, "accuracy": acc, "best": best, **model_json(m)})
    F, Fw, y13 = fixture132()
    out["linear"] = [
        {"case": "basic", "folds": 5, "value": linear_score(Xb, yb, 5)},
        {"case": "basic", "folds": 3, "value": linear_score(Xb, yb, 3)},
        {"case": "t132", "folds": 5, "value": linear_score(F, y13, 5)},
        {"case": "wide", "folds": 3, "value": linear_score(Xw, yw, 3)},
        {"case": "binary", "folds": 4, "value": linear_score(Xn, yn, 4)},
    ]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    for f in out["fits"]:
        print(f"{f['case']:8s} lambda={f['lambda']:<8g} loss={f['loss']:.15g} |grad|={f['gradient']:.1e}")
    print(f"cv: accuracy {acc} best {best}")
    print("linear:", [(r["case"], r["folds"], r["value"]) for r in out["linear"]])


if __name__ == "__main__":
    main()
