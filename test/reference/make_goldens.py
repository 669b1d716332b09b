"""Generate the reference feature set and golden similarity values for taskmap's RSA / DDS / CKA measures.

Run from the repository root:   python3 test/reference/make_goldens.py
Writes test/fixtures/reference/{m0_gauss,m1_relu,m2_mix,m3_offset,m4_small}.npy and goldens.json.

The inputs are drawn once from numpy default_rng(20261125); the .npy files are the ground truth (goldens are
computed from the arrays as re-read from disk, float32 files upcast exactly to float64).
The script is deterministic: running it again rewrites byte-identical files.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import reference as R  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "reference")
SEED = 20261125
N = 40


def make_models() -> list[dict]:
    rng = np.random.default_rng(SEED)
    H, W, C = 4, 4, 6
    p = H * W * C
    latent = rng.normal(size=(N, 5))  # shared image structure so that the models are related

    # m0: gaussian
    m0 = latent @ rng.normal(size=(5, p)) + 0.7 * rng.normal(size=(N, p))
    m0 = m0.astype(np.float32)
    # m1: relu'd gaussian (many exact zeros)
    m1 = np.maximum(0.0, latent @ rng.normal(size=(5, p)) + 0.7 * rng.normal(size=(N, p)) - 0.2)
    # m2: linear mix of m0 (as stored, float32) plus noise
    mix = rng.normal(size=(p, p)) / np.sqrt(p)
    m2 = (m0.astype(np.float64) @ mix + 0.5 * rng.normal(size=(N, p))).astype(np.float32)
    # m3: per-feature large offset and scale, three exactly constant features
    base = latent @ rng.normal(size=(5, p)) + rng.normal(size=(N, p))
    scale = np.exp(rng.uniform(np.log(0.05), np.log(20.0), size=p))
    offset = rng.uniform(-100.0, 100.0, size=p)
    m3 = base * scale + offset
    const_idx = [5, 40, 77]
    const_val = [123.456, -87.5, 1000.125]
    for j, v in zip(const_idx, const_val):
        m3[:, j] = v
    # m4: different shape (2, 2, 8), p = 32
    m4 = np.tanh(0.5 * (latent @ rng.normal(size=(5, 32))) + 0.5 * rng.normal(size=(N, 32))).astype(np.float32)

    return [
        dict(label="m0_gauss", data=m0.reshape(N, H, W, C), shape=[H, W, C],
             desc="gaussian: latent(40x5) @ A + 0.7 noise"),
        dict(label="m1_relu", data=m1.reshape(N, H, W, C), shape=[H, W, C],
             desc="relu(latent @ A + 0.7 noise - 0.2)"),
        dict(label="m2_mix", data=m2.reshape(N, H, W, C), shape=[H, W, C],
             desc="m0 (as stored) @ random 96x96 mix / sqrt(96) + 0.5 noise"),
        dict(label="m3_offset", data=m3.reshape(N, H, W, C), shape=[H, W, C],
             desc="(latent @ A + noise) * scale_j + offset_j, scale in [0.05, 20] log-uniform, offset in "
                  "[-100, 100]; flat features 5, 40, 77 constant (123.456, -87.5, 1000.125)",
             constant_features=const_idx),
        dict(label="m4_small", data=m4.reshape(N, 2, 2, 8), shape=[2, 2, 8],
             desc="tanh(0.5 latent @ A + 0.5 noise), per-image shape (2, 2, 8), p = 32"),
    ]


NORMS = list(R.NORMS)
FUNCS = list(R.FUNCS)


def measure_table():
    """(id, description, fn(Xa, Xb, shape_a, shape_b) -> float) for every golden measure id."""
    M = []
    M.append(("rsa", "centre features, 1 - Pearson RDM, Spearman of upper triangles",
              lambda a, b, sa, sb: R.rsa(a, b, "correlation", "spearman")))
    M.append(("rsa:compare=pearson", "RSA with true Pearson of the upper triangles",
              lambda a, b, sa, sb: R.rsa(a, b, "correlation", "pearson")))
    M.append(("rsa:compare=kendall", "RSA with Kendall tau-b of the upper triangles",
              lambda a, b, sa, sb: R.rsa(a, b, "correlation", "kendall")))
    for d in R.RDM_DISTANCES:
        M.append((f"rsa:rdm={d}", f"centre features, {d} RDM, Spearman",
                  (lambda d: lambda a, b, sa, sb: R.rsa(a, b, d, "spearman"))(d)))
    # Spearman cannot tell euclidean from sqeuclidean (monotone), so also pin both with the Pearson comparator
    for d in ["euclidean", "sqeuclidean"]:
        M.append((f"rsa:rdm={d},compare=pearson", f"centre features, {d} RDM, true Pearson",
                  (lambda d: lambda a, b, sa, sb: R.rsa(a, b, d, "pearson"))(d)))
    for norm in NORMS:
        for f in FUNCS:
            M.append((f"dds:norm={norm},kernel={f}", f"DDS {norm} + {f}, g = CKA with unbiased centring",
                      (lambda norm, f: lambda a, b, sa, sb: R.dds(a, b, norm, f, "cka", "unbiased", sa, sb, "NHWC"))(
                          norm, f)))
    extra = [
        ("dds:norm=znorm,kernel=cosine,compare=spearman", "cosine", "spearman", "unbiased"),
        ("dds:norm=znorm,kernel=cosine,compare=spearman,centering=none", "cosine", "spearman", "none"),
        ("dds:norm=znorm,kernel=cosine,compare=cosine-triu", "cosine", "cosine-triu", "unbiased"),
        ("dds:norm=znorm,kernel=cosine,compare=pearson", "cosine", "pearson", "unbiased"),
        ("dds:norm=znorm,kernel=linear,compare=cka,centering=biased", "linear", "cka", "biased"),
        ("dds:norm=znorm,kernel=linear,compare=cka,centering=none", "linear", "cka", "none"),
        # Additional ids that discriminate what the ones above cannot: with znorm (centred features) the linear
        # kernel is already doubly centred, so biased == none above; U-centred triangles have zero mean, so
        # cosine-triu == pearson == unbiased CKA above. Without centring / normalisation they all differ.
        ("dds:norm=znorm,kernel=cosine,compare=cosine-triu,centering=none", "cosine", "cosine-triu", "none"),
        ("dds:norm=znorm,kernel=cosine,compare=pearson,centering=none", "cosine", "pearson", "none"),
    ]
    for mid, f, g, cen in extra:
        M.append((mid, f"DDS znorm + {f}, g = {g}, centring {cen}",
                  (lambda f, g, cen: lambda a, b, sa, sb: R.dds(a, b, "znorm", f, g, cen))(f, g, cen)))
    for cen in ["biased", "none"]:
        M.append((f"dds:norm=none,kernel=linear,compare=cka,centering={cen}",
                  f"DDS none + linear, g = CKA, centring {cen}",
                  (lambda cen: lambda a, b, sa, sb: R.dds(a, b, "none", "linear", "cka", cen))(cen)))
    M.append(("cka:kernel=linear", "linear CKA, biased (HKH) centring",
              lambda a, b, sa, sb: R.cka(a, b, "linear", False)))
    M.append(("cka:kernel=linear,debiased", "linear CKA, unbiased (U-) centring",
              lambda a, b, sa, sb: R.cka(a, b, "linear", True)))
    M.append(("cka:kernel=rbf,t=0.5", "RBF CKA t = 0.5, biased",
              lambda a, b, sa, sb: R.cka(a, b, "rbf", False, 0.5)))
    M.append(("cka:kernel=rbf,t=0.5,debiased", "RBF CKA t = 0.5, unbiased",
              lambda a, b, sa, sb: R.cka(a, b, "rbf", True, 0.5)))
    M.append(("cka:kernel=rbf,t=1", "RBF CKA t = 1.0, biased",
              lambda a, b, sa, sb: R.cka(a, b, "rbf", False, 1.0)))
    return M


def matrix(reps, shapes, fn):
    return R.pairwise_matrix(reps, lambda i, j: fn(reps[i], reps[j], shapes[i], shapes[j]))


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    models = make_models()
    meta = []
    reps = []
    shapes = []
    for m in models:
        dtype = m["data"].dtype
        fname = f"{m['label']}.npy"
        path = os.path.join(OUT, fname)
        np.save(path, np.ascontiguousarray(m["data"]))
        back = np.load(path)
        assert back.dtype == dtype and np.array_equal(back, m["data"])
        reps.append(R.f64(back))  # (n, p) float64, exact upcast
        shapes.append(tuple(m["shape"]))
        entry = {"label": m["label"], "file": fname, "shape": m["shape"], "dtype": str(dtype),
                 "array_shape": list(back.shape), "layout": "NHWC", "description": m["desc"]}
        if "constant_features" in m:
            entry["constant_features"] = m["constant_features"]
        meta.append(entry)

    # sanity: znorm constant-feature rule really fires on m3 and only there
    for k, X in enumerate(reps):
        mean = X.mean(axis=0)
        var = ((X - mean) ** 2).mean(axis=0)
        const = np.nonzero(R.is_constant_feature(var, mean, X.shape[0]))[0].tolist()
        assert const == meta[k].get("constant_features", []), (meta[k]["label"], const)

    table = measure_table()
    pairs = {}
    descriptions = {}
    for mid, desc, fn in table:
        pairs[mid] = matrix(reps, shapes, fn)
        descriptions[mid] = desc

    # robustness of the goldens: perturb every input by ~1e-13 relative (a stand-in for a different summation
    # order) and require every value to move by < 1e-9 relative; this guards the rank-based measures
    # (Spearman / Kendall) against near-ties that an independent implementation could order differently.
    prng = np.random.default_rng(1)
    # (exactly constant columns stay exactly constant: an implementation reads the same bytes, and the znorm
    # constant-feature rule is meant to see them as constant)
    preps = []
    for X in reps:
        noise = 1e-13 * prng.standard_normal(X.shape)
        noise[:, np.all(X == X[0], axis=0)] = 0.0
        preps.append(X * (1.0 + noise))
    worst = 0.0
    for mid, _, fn in table:
        P = matrix(preps, shapes, fn)
        for i in range(len(reps)):
            for j in range(len(reps)):
                g = pairs[mid][i][j]
                worst = max(worst, abs(P[i][j] - g) / max(abs(g), 1e-3))
    assert worst < 1e-9, f"goldens are not robust to rounding: worst relative change {worst:.3e}"

    # symmetry: g(b, a) == g(a, b)
    for mid, _, fn in table:
        for i in range(len(reps)):
            for j in range(i + 1, len(reps)):
                v = fn(reps[j], reps[i], shapes[j], shapes[i])
                assert abs(v - pairs[mid][i][j]) <= 1e-12 * max(1.0, abs(v)), (mid, i, j)

    # layout variants: every model read as NCHW, i.e. its flat features are (C, H, W) in C order
    layout_variants = {}
    for norm in ["group_norm", "instance_norm", "batch_norm"]:
        mid = f"dds:norm={norm},kernel=linear,layout=NCHW"
        fn = (lambda norm: lambda a, b, sa, sb: R.dds(a, b, norm, "linear", "cka", "unbiased", sa, sb, "NCHW"))(norm)
        M = matrix(reps, shapes, fn)
        nhwc = pairs[f"dds:norm={norm},kernel=linear"]
        diff = max(abs(M[i][j] - nhwc[i][j]) for i in range(5) for j in range(5))
        assert diff > 1e-4, f"{mid}: NCHW and NHWC give the same values (max diff {diff})"
        same = [k for k, m in enumerate(meta) if m["shape"] == [4, 4, 6]]
        layout_variants[mid] = {
            "stored_shapes": {m["label"]: [m["shape"][2], m["shape"][0], m["shape"][1]] for m in meta},
            "matrix": M,
            "max_abs_diff_vs_NHWC": diff,
            # the same values through an explicit H x W x C shape parameter (models with that shape only)
            "explicit_shape_id": f"{mid},shape=4x4x6",
            "explicit_shape_models": same,
        }

    # per-model RDMs of model 0 (raw features and feature-centred features as used inside RSA)
    X0 = reps[0]
    rdms = {
        "model": meta[0]["label"],
        "n": N,
        "raw": {d: R.rdm(X0, d).tolist() for d in R.RDM_DISTANCES},
        "centred": {d: R.rsa_rdm(X0, d).tolist() for d in R.RDM_DISTANCES},
    }

    notes = {
        "generator": "test/reference/make_goldens.py with numpy default_rng(20261125); reference functions in "
                     "test/reference/reference.py, written from ../shared/docs/ALGORITHMS.md",
        "pairs": "pairs[id] is the full 5x5 matrix in the order of `models` (computed for i <= j and mirrored). "
                 "Compare with tolerance max(1e-6 * |golden|, 1e-9).",
        "arithmetic": "all computations in float64; float32 files are upcast exactly before any arithmetic",
        "shapes": "tensor norms (group_norm G=2, instance_norm, layer_norm, batch_norm; eps 1e-9) use each "
                  "model's own per-image shape: (4,4,6) NHWC for m0..m3, (2,2,8) NHWC for m4. The .npy arrays are "
                  "(40, H, W, C); Representation.shape = array_shape[1:], p = product.",
        "layout_variants": "matrix: same data, but each model's 96 (resp. 32) flat features are read as (C,H,W) in C order: "
                           "stored per-image shape [6,4,4] (resp. [8,2,2]) with layout=NCHW, i.e. flat index "
                           "j = (c*H + h)*W + w. The NHWC reading of the same bytes is the plain dds id. "
                           "explicit_shape_id gives the same values for the (4,4,6) models (explicit_shape_models) "
                           "when the shape is passed as the id parameter shape=HxWxC (always H x W x C) instead of "
                           "being taken from the stored per-image shape.",
        "rsa": "rsa ids: centre each feature over the images, then the RDM (correlation = 1 - Pearson of rows, "
               "euclidean, sqeuclidean, cosine = 1 - cosine of rows), compare upper triangles (i < j) with "
               "Spearman (average ranks) unless compare= says pearson (true Pearson) or kendall (tau-b). "
               "rsa == rsa:rdm=correlation.",
        "dds": "dds ids without compare=: g = CKA with unbiased (U-) centring. compare=spearman / cosine-triu / "
               "pearson: centre both n x n matrices (default unbiased; centering=none skips it), take the upper "
               "triangles and take Spearman / cosine (no mean removal; the DDS reference's 'pearson') / true "
               "Pearson. compare=cka,centering=biased|none: CKA with HKH centring / no centring.",
        "znorm": "StandardScaler semantics: population std; a feature is constant when var <= n*eps*var + "
                 "(n*mean*eps)^2 (eps = 2^-52) and then gets scale 1 (values become x - mean, i.e. ~0). m3 has "
                 "three exactly constant features (flat 5, 40, 77) so this rule is exercised.",
        "rbf": "S_ij = |x_i|^2 + |x_j|^2 - 2 x_i.x_j, m = median of all n^2 entries (diagonal and both triangles "
               "included; n^2 even so the mean of the two middle values), K = exp(-S / (2 t^2 m)); t = 0.5 "
               "inside DDS.",
        "lap": "K = exp(-gamma * L1 distance), gamma = 1/p of that representation",
        "cka": "stand-alone cka ids work on raw features: Gram matrix (X X^T or rbf), biased (HKH) centring, or "
               "unbiased centring with `debiased`",
        "rdms": "rdms.raw = RDMs of model 0's features as stored; rdms.centred = after centring each feature "
                "(what the rsa ids compare). Euclidean / sqeuclidean from explicit differences (exact 0 diagonal); "
                "correlation diagonal is 1 - clip(r_ii) (~0, not forced); cosine diagonal 1 - |x|^2/|x|^2 (~0).",
        "robustness": f"every golden moves by < 1e-9 relative when the inputs are perturbed by 1e-13 relative "
                      f"(worst {worst:.2e}; exactly constant columns kept constant), so rank-based goldens have no near-ties.",
    }

    out = {
        "seed": SEED,
        "n": N,
        "models": meta,
        "measures": descriptions,
        "pairs": pairs,
        "layout_variants": layout_variants,
        "rdms": rdms,
        "notes": notes,
    }
    with open(os.path.join(OUT, "goldens.json"), "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(pairs)} measure ids x 5x5, {len(layout_variants)} layout variants, RDMs of "
          f"{meta[0]['label']}; {total / 1024:.0f} KiB in {OUT}; robustness worst {worst:.2e}")


if __name__ == "__main__":
    main()
