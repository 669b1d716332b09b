"""Check reference.py against every check value of ALGORITHMS.md sections 13.1 and 13.3 (and a few more).

Run:  python3 test/reference/check_reference.py      (exit status 1 if any check fails)

The fixtures are regenerated from their closed-form formulas (reference.fixture_dds13 / fixture_cca13).
Printed values are compared to the spec's decimals: 12-decimal table values to 5e-13 absolute, full-precision
values to 1e-11 relative (the spec promises ~1e-9 agreement in float64; we are far inside that).
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as R  # noqa: E402

results: list[bool] = []


def check(name: str, got: float, want: float, abs_tol: float | None = None, rel_tol: float = 1e-11) -> None:
    got = float(got)
    tol = abs_tol if abs_tol is not None else max(rel_tol * abs(want), 1e-15)
    ok = bool(np.isfinite(got)) and abs(got - want) <= tol
    results.append(ok)
    print(f"{'OK  ' if ok else 'FAIL'} {name}: got {got!r} want {want!r} (|diff| {abs(got - want):.2e}, tol {tol:.1e})")


# ------------------------------------------------------------------------------------------------------
# 13.1 DDS fixture
# ------------------------------------------------------------------------------------------------------
X, Z, Y = R.fixture_dds13()
shape = (16, 16, 8)

print("== 13.1 spot values")
for k, want in enumerate([0.04509415262636274, -0.11308225966303273, -0.5745292368681865,
                          -1.339246778989098, 2.5927651139742323, 0.25]):
    check(f"X[0][{k}]", X[0, k], want, abs_tol=0.0)
for k, want in enumerate([0, 0.17679928031722403, 0, 0, 3.192320888900194, 0]):
    check(f"Y[1][{k}]", Y[1, k], want, abs_tol=0.0)

TABLE = {
    "none":          [0.989635133305, 0.985961420097, 0.978366910749, 0.978780790836, 0.982594055211, 0.978757668829],
    "centering":     [0.989635133305, 0.985961420097, 0.978366910749, 0.981133328299, 0.982594055211, 0.981135480030],
    "znorm":         [0.948566313019, 0.873557864772, 0.881471581269, 0.905996095022, 0.904309191682, 0.906256981246],
    "group_norm":    [0.993880137337, 0.992169317972, 0.990807402210, 0.990807402215, 0.991919691443, 0.990807402215],
    "instance_norm": [0.985218092381, 0.990558287878, 0.985873703870, 0.985873705320, 0.986058675864, 0.985873705320],
    "layer_norm":    [0.989356407835, 0.985741208599, 0.978780790836, 0.978780790836, 0.982747866224, 0.978780790836],
    "batch_norm":    [0.983368737428, 0.990760479387, 0.983651539645, 0.984709099410, 0.983946625902, 0.984710561022],
}
TABLE_COLS = ["rbf", "lap", "linear", "pearson", "euclidean", "cosine"]

print("== 13.1 DDS table (unbiased CKA, 12 decimals)")
for norm, row in TABLE.items():
    for f, want in zip(TABLE_COLS, row):
        got = R.dds(X, Y, norm, f, "cka", "unbiased", shape, shape, "NHWC")
        check(f"DDS {norm:13s} {f:9s}", got, want, abs_tol=5e-13)

print("== 13.1 other values")
check("biased linear CKA (None)", R.dds(X, Y, "none", "linear", "cka", "biased"), 0.9929282335311181)
check("cka:kernel=linear (stand-alone)", R.cka(X, Y, "linear", False), 0.9929282335311181)
check("biased RBF CKA t=0.5 (None)", R.dds(X, Y, "none", "rbf", "cka", "biased"), 0.9975961631869312)
check("cka:kernel=rbf,t=0.5 (stand-alone)", R.cka(X, Y, "rbf", False, 0.5), 0.9975961631869312)
check("uncentred linear CKA", R.dds(X, Y, "none", "linear", "cka", "none"), 0.9121759252143907)
check("RSA (centering, pearson RDM, Spearman)", R.rsa(X, Y), 0.9322793148880104)
check("RSA as DDS(centering, pearson, spearman, none)", R.dds(X, Y, "centering", "pearson", "spearman", "none"),
      0.9322793148880104)
check("Spearman comparator, znorm cosine, unbiased", R.dds(X, Y, "znorm", "cosine", "spearman", "unbiased"),
      0.884584980237154)
check("cosine-triu comparator, znorm cosine, unbiased", R.dds(X, Y, "znorm", "cosine", "cosine-triu", "unbiased"),
      0.906256981245665)

print("== 13.1 intermediates")
check("median of the 100 squared distances of X", R.rbf_median(X), 7679.605024551092)
check("K_lap(X)[0][1] (gamma = 1/2048)", R.f_lap(X)[0, 1], 0.3317406127225796)
check("pearson-RDM(X)[0][1]", R.f_pearson(X)[0, 1], 0.490642436904693)
check("euclidean(X)[0][1]", R.f_euclidean(X)[0, 1], 65.36674669087868)
check("cosine-RDM(X)[0][1]", R.f_cosine(X)[0, 1], 0.4652203821533245)
rng = np.random.default_rng(3)
A = rng.normal(size=(3, 3))
# centre_gram refuses n < 4 (section 2.5), so check the 3x3 identity on the raw formula: 1/(n-2) = 1, 2(n-1) = 4
K3 = A + A.T
np.fill_diagonal(K3, 0.0)
m3 = K3.sum(axis=0) / 1.0
m3 = m3 - m3.sum() / 4.0
K3c = K3 - m3[:, None] - m3[None, :]
np.fill_diagonal(K3c, 0.0)
check("unbiased centring of a 3x3 symmetric matrix is 0", float(np.abs(K3c).max()), 0.0, abs_tol=1e-14)

# ------------------------------------------------------------------------------------------------------
# 13.3 CKA fixture
# ------------------------------------------------------------------------------------------------------
X3, Y3 = R.fixture_cca13()
print("== 13.3 CKA values")
check("linear CKA biased", R.cka(X3, Y3, "linear", False), 0.4154408372184612)
check("linear CKA unbiased", R.cka(X3, Y3, "linear", True), 0.3121863609001373)
check("linear CKA biased, feature space", R.cka_linear_feature_space(X3, Y3, False), 0.4154408372184612)
check("linear CKA unbiased, feature space", R.cka_linear_feature_space(X3, Y3, True), 0.3121863609001373)
check("RBF CKA t=0.5 biased", R.cka(X3, Y3, "rbf", False, 0.5), 0.576497264875373)
check("RBF CKA t=0.5 unbiased", R.cka(X3, Y3, "rbf", True, 0.5), 0.1294406938565094)
check("RBF CKA t=1.0 biased", R.cka(X3, Y3, "rbf", False, 1.0), 0.45339644747197066)
check("Laplacian CKA unbiased (gamma = 1/p per side)", R.dds(X3, Y3, "none", "lap", "cka", "unbiased"),
      0.2673523943645727)
Q, _ = np.linalg.qr(np.random.default_rng(5).normal(size=(6, 6)))
check("unbiased linear CKA(XQ, Y) - CKA(X, Y)", R.cka(X3 @ Q, Y3, "linear", True) - R.cka(X3, Y3, "linear", True),
      0.0, abs_tol=1e-14)

# ------------------------------------------------------------------------------------------------------
# Extra cross-checks (not in 13.1 / 13.3): Kornblith demo numbers, 13.4 rank correlations, scipy agreement
# ------------------------------------------------------------------------------------------------------
print("== section 3 demo numbers (legacy MT19937 seed 1337, 5 decimals)")
rs = np.random.RandomState(1337)
Xd = rs.randn(100, 10)
Yd = rs.randn(100, 10) + Xd
check("demo linear CKA", R.cka(Xd, Yd, "linear"), 0.55761, abs_tol=5e-6)
check("demo RBF CKA t=0.5", R.cka(Xd, Yd, "rbf", False, 0.5), 0.65483, abs_tol=5e-6)
check("demo debiased linear CKA", R.cka(Xd, Yd, "linear", True), 0.51346, abs_tol=5e-6)

print("== 13.4 rank correlations")
a = [0.9, 0.8, 0.8, 0.3, 0.1, 0.5]
b = [10, 7, 9, 2, 2, 4]
check("Spearman", R.spearman(a, b), 0.9705882352941178)
check("Kendall tau-b", R.kendall_tau_b(a, b), 0.9285714285714286)
check("Pearson", R.pearson(a, b), 0.950496913043515)
check("Kendall tau-b, scipy doc example", R.kendall_tau_b([12, 2, 1, 12, 2], [1, 4, 7, 1, 0]),
      -0.47140452079103173)

print("== agreement with scipy.stats on random tied data")
try:
    from scipy import stats

    rng = np.random.default_rng(11)
    worst = 0.0
    for _ in range(50):
        u = rng.integers(0, 8, size=60).astype(float)
        v = rng.integers(0, 5, size=60).astype(float) + 0.5 * u
        worst = max(worst,
                    abs(R.spearman(u, v) - stats.spearmanr(u, v).statistic),
                    abs(R.kendall_tau_b(u, v) - stats.kendalltau(u, v).statistic),
                    abs(R.pearson(u, v) - stats.pearsonr(u, v).statistic),
                    float(np.abs(R.rank_average(u) - stats.rankdata(u)).max()))
    check("max |ours - scipy| over 50 tied samples", worst, 0.0, abs_tol=1e-13)
    from scipy.spatial.distance import cdist

    Xr = rng.normal(size=(12, 7))
    for dist, sp in [("correlation", "correlation"), ("euclidean", "euclidean"), ("sqeuclidean", "sqeuclidean"),
                     ("cosine", "cosine")]:
        check(f"rdm {dist} vs scipy cdist", float(np.abs(R.rdm(Xr, dist) - cdist(Xr, Xr, sp)).max()), 0.0,
              abs_tol=1e-12)
except ImportError:
    print("(scipy not available: skipped)")

print("== section 2.5 identities on the 13.1 fixture")
for f in ["rbf", "lap", "euclidean"]:
    check(f"none == centering for {f}", R.dds(X, Y, "none", f), R.dds(X, Y, "centering", f), abs_tol=1e-12)
for f in ["pearson", "cosine"]:
    check(f"layer_norm {f} == layer_norm linear", R.dds(X, Y, "layer_norm", f, shape_x=shape, shape_y=shape),
          R.dds(X, Y, "layer_norm", "linear", shape_x=shape, shape_y=shape), abs_tol=1e-12)
check("DDS(X, X) = 1 (znorm, lap)", R.dds(X, X, "znorm", "lap"), 1.0, abs_tol=1e-14)
aff = np.random.default_rng(7).uniform(0.5, 3.0, size=2048)
check("znorm invariant to per-feature affine rescaling", R.dds(X * aff + 3.0, Y, "znorm", "rbf"),
      R.dds(X, Y, "znorm", "rbf"), abs_tol=1e-12)

n_fail = results.count(False)
print(f"\n{len(results) - n_fail}/{len(results)} OK" + ("" if n_fail == 0 else f", {n_fail} FAIL"))
sys.exit(1 if n_fail else 0)
