"""Golden values for the task bank's target builders and the perceptual hash (test/taskbank/*.test.ts).

Written from the definitions in docs/taskbank.md and ALGORITHMS.md §7.9, not from the TypeScript sources. Smoothing
and derivatives use scipy.ndimage (gaussian_filter, sobel; mode 'nearest', truncate 4), the DCT scipy.fft.dct, the
jigsaw set a brute-force search over itertools.permutations, area resampling an overlap matrix W_y · X · W_xᵀ, and the
superpixels a vectorised numpy k-means — each an independent formulation of what the TypeScript computes in loops.

Run: python3 test/reference/taskbank_reference.py  (writes test/fixtures/taskbank/reference.json; deterministic)
"""

import itertools
import json
import math
from pathlib import Path

import numpy as np
from scipy import fft, ndimage

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "taskbank" / "reference.json"
LUMA = np.array([0.299, 0.587, 0.114])


def test_image(size, seed):
    """A smooth-plus-edges RGB image: bilinear blow-up of random 4×4 blocks, a bright square, uint8."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, size=(4, 4, 3))
    ys = np.linspace(0, 3, size)
    out = np.empty((size, size, 3))
    for c in range(3):
        rows = np.array([np.interp(ys, np.arange(4), coarse[:, j, c]) for j in range(4)]).T  # size × 4
        out[:, :, c] = np.array([np.interp(ys, np.arange(4), rows[i]) for i in range(size)])
    q = size // 4
    out[q : 2 * q, q : 2 * q] = [250, 240, 230]
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def ycbcr(rgb):
    y = rgb @ LUMA
    cb = 0.5 + (rgb[..., 2] - y) / 1.772
    cr = 0.5 + (rgb[..., 0] - y) / 1.402
    return y, cb, cr


def blur(m, sigma):
    return ndimage.gaussian_filter(m, sigma, mode="nearest", truncate=4.0)


def edges(y, sigma):
    b = blur(y, sigma)
    gx = ndimage.sobel(b, axis=1, mode="nearest")
    gy = ndimage.sobel(b, axis=0, mode="nearest")
    return np.hypot(gx, gy) / (4 * math.sqrt(2))


def harris(y, sigma_d=1.0, sigma_i=1.5, k=0.04):
    b = blur(y, sigma_d)
    ix = ndimage.sobel(b, axis=1, mode="nearest") / 8
    iy = ndimage.sobel(b, axis=0, mode="nearest") / 8
    a, bb, c = blur(ix * ix, sigma_i), blur(iy * iy, sigma_i), blur(ix * iy, sigma_i)
    return a * bb - c * c - k * (a + bb) ** 2


def phash(grey32):
    """DCT-II of the 32×32 image (scipy, unnormalised), 8×8 low block, bits = coefficient > median of the 63 AC."""
    d = fft.dct(fft.dct(grey32.astype(float), type=2, axis=0), type=2, axis=1)[:8, :8].ravel()
    med = np.median(d[1:])
    bits = [0] + [int(v > med) for v in d[1:]]
    return "".join(f"{int(''.join(map(str, bits[i : i + 4])), 2):x}" for i in range(0, 64, 4))


def area_matrix(src, dst):
    """dst × src matrix of covered fractions (each row sums to 1)."""
    w = np.zeros((dst, src))
    scale = src / dst
    for o in range(dst):
        a, b = o * scale, (o + 1) * scale
        for p in range(src):
            w[o, p] = max(0.0, min(b, p + 1) - max(a, p)) / scale
    return w


def jigsaw_set(count=24):
    perms = np.array(list(itertools.permutations(range(9))), dtype=np.int8)
    chosen = [0]
    mind = np.full(len(perms), 10)
    while True:
        mind = np.minimum(mind, (perms != perms[chosen[-1]]).sum(axis=1))
        if len(chosen) == count:
            break
        chosen.append(int(np.argmax(mind)))  # argmax: first maximum = lexicographically first
    return perms[chosen].tolist()


def superpixels(rgb01, k=9, spatial=0.5, iterations=10):
    size = rgb01.shape[0]
    g = int(round(math.sqrt(k)))
    yy, xx = np.mgrid[0:size, 0:size]
    feat = np.concatenate([rgb01.reshape(-1, 3), (spatial * xx / size).reshape(-1, 1), (spatial * yy / size).reshape(-1, 1)], axis=1)
    centres = []
    for j in range(k):
        cy = min(size - 1, int(((j // g) + 0.5) * size / g))
        cx = min(size - 1, int(((j % g) + 0.5) * size / g))
        centres.append(feat[cy * size + cx])
    centres = np.array(centres)
    for it in range(iterations + 1):
        d = ((feat[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        label = np.argmin(d, axis=1)  # first minimum on ties
        if it == iterations:
            break
        for j in range(k):
            if (label == j).any():
                centres[j] = feat[label == j].mean(axis=0)
    _, first = np.unique(label, return_index=True)
    order = {lab: rank for rank, lab in enumerate(label[np.sort(first)])}
    return np.array([order[v] for v in label])


def main():
    img = test_image(16, 3)
    rgb = img.astype(float) / 255
    y, cb, cr = ycbcr(rgb)
    grey32 = test_image(32, 5).astype(float) @ LUMA
    grey32b = 0.5 * grey32 + 40  # an affine copy: same hash
    small = test_image(12, 7)
    area_src = test_image(20, 11).astype(float)
    wy, wx = area_matrix(20, 6), area_matrix(20, 6)
    area = np.stack([wy @ area_src[:, :, c] @ wx.T for c in range(3)], axis=2)
    down = rgb.reshape(8, 2, 8, 2, 3).mean(axis=(1, 3))
    ref = {
        "note": "generated by test/reference/taskbank_reference.py (scipy.ndimage, scipy.fft, numpy)",
        "image16": img.ravel().tolist(),
        "luma": y.ravel().tolist(),
        "cb": cb.ravel().tolist(),
        "cr": cr.ravel().tolist(),
        "blur1": blur(y, 1.0).ravel().tolist(),
        "edges": edges(y, 1.0).ravel().tolist(),
        "harris": harris(y).ravel().tolist(),
        "down2": down.ravel().tolist(),
        "rot90": [np.rot90(rgb, k).ravel().tolist() for k in range(4)],
        "grey32": grey32.ravel().tolist(),
        "grey32Affine": grey32b.ravel().tolist(),
        "phash": phash(grey32),
        "phashAffine": phash(grey32b),
        "phashInverted": phash(255 - grey32),
        "image12": small.ravel().tolist(),
        "superpixels12": superpixels(small.astype(float) / 255).tolist(),
        "area20": area_src.ravel().tolist(),
        "area20to6": area.ravel().tolist(),
        "jigsaw": jigsaw_set(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(ref) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
