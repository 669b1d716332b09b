"""Golden values for the task bank's losses (test/taskbank/losses.test.ts).

Written from the definitions in src/taskbank/losses.ts's module comment and docs/taskbank.md, in vectorised numpy
(scipy.special's logsumexp, log_expit), not from the TypeScript loops: per-image L1, L2, masked L1, (soft)
cross-entropy, BCE of sigmoid(p), and the metric loss over the seeded pixel pairs (mulberry32, as
src/linalg/resample.ts; the pair rule a = ⌊u·N⌋, b = (a + 1 + ⌊u'·(N − 1)⌋) mod N).

Run: python3 test/reference/taskbank_losses_reference.py  (writes test/fixtures/taskbank/losses.json; deterministic)
"""

import json
import sys
from pathlib import Path

import numpy as np
from scipy.special import log_expit, log_softmax

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rank_reference import mulberry32  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "taskbank" / "losses.json"
PAIRS, PAIR_SEED, MARGIN, EPS = 512, 20240514, 1.0, 1e-6


def pairs(h, w, count=PAIRS, seed=PAIR_SEED):
    rnd = mulberry32(seed)
    n = h * w
    a, b = [], []
    for _ in range(count):
        i = int(np.floor(rnd() * n))
        j = (i + 1 + int(np.floor(rnd() * (n - 1)))) % n
        a.append(i)
        b.append(j)
    return np.array(a), np.array(b)


def f32(x):
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def case(rng, loss, shape, n):
    """Random predictions and targets of the kind the task has (float32 values, as the TS side stores them)."""
    mask = None
    if loss == "metric":
        pred = f32(rng.normal(0, 0.6, size=(n, *shape[:2], 8)))
        target = f32(rng.integers(0, 9, size=(n, *shape)))
    elif loss in ("cross-entropy",):
        pred = f32(rng.normal(0, 2, size=(n, *shape)))
        target = f32(np.eye(shape[-1])[rng.integers(0, shape[-1], size=n)])
    elif loss == "soft-cross-entropy":
        pred = f32(rng.normal(0, 2, size=(n, *shape)))
        z = rng.uniform(0, 1, size=(n, *shape))
        target = f32(z / z.sum(-1, keepdims=True))
    elif loss == "bce":
        pred = f32(rng.normal(0, 3, size=(n, *shape)))
        pred.flat[0] = 60.0  # overflow-prone logits
        pred.flat[1] = -60.0
        target = f32(rng.uniform(0, 1, size=(n, *shape)))
    else:
        pred = f32(rng.uniform(-0.2, 1.2, size=(n, *shape)))
        target = f32(rng.uniform(0, 1, size=(n, *shape)))
        if loss == "masked-l1":
            mask = np.zeros((n, *shape[:2], 1))
            for i in range(n):
                t, l = rng.integers(0, shape[0] - 3, size=2)
                mask[i, t : t + 3, l : l + 4] = 1
    return pred, target, mask


def losses(loss, pred, target, mask):
    n = pred.shape[0]
    if loss == "l1":
        return np.abs(pred - target).reshape(n, -1).mean(1)
    if loss == "l2":
        return ((pred - target) ** 2).reshape(n, -1).mean(1)
    if loss == "masked-l1":
        c = target.shape[-1]
        num = (np.abs(pred - target) * mask).reshape(n, -1).sum(1)
        return num / (mask.reshape(n, -1).sum(1) * c)
    if loss in ("cross-entropy", "soft-cross-entropy"):
        return -(target * log_softmax(pred, axis=-1)).reshape(n, -1).sum(1)
    if loss == "bce":
        # −[t log σ(p) + (1 − t) log(1 − σ(p))], log(1 − σ(p)) = log σ(−p)
        v = -(target * log_expit(pred) + (1 - target) * log_expit(-pred))
        return v.reshape(n, -1).mean(1)
    if loss == "metric":
        h, w = target.shape[1:3]
        a, b = pairs(h, w)
        e = pred.reshape(n, h * w, -1)
        lab = target.reshape(n, h * w)
        d2 = ((e[:, a] - e[:, b]) ** 2).sum(-1)
        same = lab[:, a] == lab[:, b]
        push = np.maximum(0, MARGIN - np.sqrt(d2 + EPS)) ** 2
        return np.where(same, d2, push).mean(1)
    raise ValueError(loss)


def main():
    rng = np.random.default_rng(14)
    specs = [
        ("l1", [8, 8, 3]),
        ("l2", [8, 8, 2]),
        ("masked-l1", [8, 8, 3]),
        ("cross-entropy", [4]),
        ("soft-cross-entropy", [5]),
        ("bce", [6, 6, 1]),
        ("metric", [8, 8, 1]),
    ]
    cases = []
    for loss, shape in specs:
        n = 3
        pred, target, mask = case(rng, loss, shape, n)
        cases.append(
            {
                "loss": loss,
                "n": n,
                "targetShape": shape,
                "pred": pred.ravel().tolist(),
                "target": target.ravel().tolist(),
                "mask": None if mask is None else mask.ravel().tolist(),
                "losses": losses(loss, pred, target, mask).tolist(),
            }
        )
    a, b = pairs(8, 8)
    out = {"cases": cases, "pairs8x8": {"a": a[:20].tolist(), "b": b[:20].tolist()}}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
