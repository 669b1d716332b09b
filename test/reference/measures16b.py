"""Independent reference for issue 16 part B: neighbourhood measures, RSM measures, eigenspace overlap, the
rsatoolbox RDM comparators and the tie behaviour of Euclidean RDMs and rank comparators.

Written from the definitions (docs/measures.md, ../shared/docs/ALGORITHMS.md §0, §6, §13.4; the papers' formulas),
numpy/scipy only, no code from taskmap or from ReSi / platonic-rep / rsatoolbox. Writes
test/fixtures/measures16/b.json, which test/measures/measures16b.test.ts reads (tests never run Python).

    python3 test/reference/measures16b.py            # rewrites the golden file (deterministic)

Conventions implemented here (the TypeScript must agree):
- neighbours of image i: the k other images with the largest cosine similarity, self excluded explicitly, equal
  similarities ordered by lower index. Cosines are computed one pair at a time (np.dot of the two unit rows) so
  that identical rows give bit-identical similarities and duplicate ties are real ties;
- Euclidean distances: scipy pdist (sums of squared differences);
- distance correlation: biased V-statistics, sqrt taken (dCor, not dCor²);
- eigenspace overlap: SVD, rank by numpy matrix_rank, ||U^T V||_F^2 / max(p_A, p_B).
"""

import json
import os

import numpy as np
import scipy.stats
from scipy.spatial.distance import pdist, squareform

from reference import fixture_cca13

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'fixtures', 'measures16', 'b.json')


# ---------------------------------------------------------------------------------------------------------------
# Inputs (closed forms)

def model_a():
    """ALGORITHMS §13.3 X: n = 30, p = 6 (the generator of reference.py)."""
    return fixture_cca13()[0]


def model_b():
    """ALGORITHMS §13.3 Y: n = 30, q = 5."""
    return fixture_cca13()[1]


def model_wide_c():
    """n = 12 < p = 40."""
    return np.array([[np.sin(0.7 * (i + 1) * (j + 1) + 0.3 * j) + 0.1 * ((i * j) % 5) for j in range(40)] for i in range(12)], dtype=float)


def model_wide_d():
    """n = 12 < p = 25."""
    return np.array([[np.cos(0.5 * (i + 1) * (j + 2)) + 0.05 * i + 0.02 * j * j for j in range(25)] for i in range(12)], dtype=float)


def model_degenerate():
    """Model A with a constant column (2) and a duplicated column (4 = 1): rank 5 of 6 once centred... and uncentred."""
    x = model_a().copy()
    x[:, 2] = 0.7
    x[:, 4] = x[:, 1]
    return x


def model_duplicate_rows():
    """Model B with images 7 and 20 copies of image 3: exact neighbour ties."""
    x = model_b().copy()
    x[7] = x[3]
    x[20] = x[3]
    return x


def model_int_1():
    """Integer features 0..4 (n = 15, p = 4): many exactly tied distances."""
    return np.array([[((i + 1) * (j + 3) * 7) % 5 for j in range(4)] for i in range(15)], dtype=float)


def model_int_2():
    """Integer features 0..3 with an offset of 1000 (n = 15, p = 3)."""
    return np.array([[1000 + ((i + 2) * (j + 1) * 3 + i // 4) % 4 for j in range(3)] for i in range(15)], dtype=float)


def model_quantised():
    """Features on the 1/8 grid (n = 15, p = 5): dyadic quantisation keeps ties too."""
    return np.array([[(((i + 1) * (j + 2) * 5) % 9) / 8 - 0.5 for j in range(5)] for i in range(15)], dtype=float)


# ---------------------------------------------------------------------------------------------------------------
# Neighbourhoods

def cosine_similarities(x):
    n = x.shape[0]
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    s = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            s[i, j] = np.dot(u[i], u[j])
    return np.clip(s, -1, 1)


def neighbours(x, k):
    """Row i: the k nearest other images, nearest first; ties by lower index."""
    s = cosine_similarities(x)
    n = x.shape[0]
    out = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        others.sort(key=lambda j: (-s[i, j], j))
        out.append(others[:k])
    return out, s


def mutual_knn(na, nb, k):
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(na, nb)]))


def jaccard_knn(na, nb):
    return float(np.mean([len(set(a) & set(b)) / len(set(a) | set(b)) for a, b in zip(na, nb)]))


def rank_similarity(na, nb):
    scores = []
    for a, b in zip(na, nb):
        shared = set(a) & set(b)
        if not shared:
            scores.append(0.0)
            continue
        total = 0.0
        for j in shared:
            ra = a.index(j) + 1
            rb = b.index(j) + 1
            total += 2.0 / ((1 + abs(ra - rb)) * (ra + rb))
        norm = sum(1.0 / t for t in range(1, len(shared) + 1))
        scores.append(total / norm)
    return float(np.mean(scores))


def second_order_cosine(na, nb, sa, sb):
    vals = []
    for i, (a, b) in enumerate(zip(na, nb)):
        union = sorted(set(a) | set(b))
        da = np.array([1 - sa[i, j] for j in union])
        db = np.array([1 - sb[i, j] for j in union])
        vals.append(np.dot(da, db) / (np.linalg.norm(da) * np.linalg.norm(db)))
    return float(np.mean(vals))


def hsic_unbiased(k, l):
    """Song et al. 2012, eq. 5, on matrices with zero diagonal."""
    n = k.shape[0]
    one = np.ones(n)
    return float((np.trace(k @ l) + (one @ k @ one) * (one @ l @ one) / ((n - 1) * (n - 2)) - 2 / (n - 2) * (one @ k @ l @ one)) / (n * (n - 3)))


def cknna(xa, xb, k):
    na, sa = neighbours(xa, k)
    nb, sb = neighbours(xb, k)
    n = xa.shape[0]

    def mask(lists):
        m = np.zeros((n, n))
        for i, row in enumerate(lists):
            m[i, row] = 1
        return m

    ma, mb = mask(na), mask(nb)
    ka = sa.copy()
    kb = sb.copy()
    np.fill_diagonal(ka, 0)
    np.fill_diagonal(kb, 0)
    both = ma * mb
    kl = hsic_unbiased(both * ka, both * kb)
    kk = hsic_unbiased(ma * ka, ma * ka)
    ll = hsic_unbiased(mb * kb, mb * kb)
    return kl / np.sqrt(kk * ll)


def unbiased_cka(ka, kb):
    ka = ka.copy()
    kb = kb.copy()
    np.fill_diagonal(ka, 0)
    np.fill_diagonal(kb, 0)
    return hsic_unbiased(ka, kb) / np.sqrt(hsic_unbiased(ka, ka) * hsic_unbiased(kb, kb))


def neighbourhood_values(xa, xb, k):
    na, sa = neighbours(xa, k)
    nb, sb = neighbours(xb, k)
    return {
        'mutual-knn': mutual_knn(na, nb, k),
        'jaccard-knn': jaccard_knn(na, nb),
        'rank-similarity': rank_similarity(na, nb),
        'second-order-cosine': second_order_cosine(na, nb, sa, sb),
        'cknna': cknna(xa, xb, k) if k >= 2 else None,
        # platonic-rep's CKNNA is not symmetric: 1ᵀK̃L̃1 ≠ 1ᵀL̃K̃1 for the non-symmetric masked kernels
        'cknnaReversed': cknna(xb, xa, k) if k >= 2 else None,
        'neighboursA': na,
        'neighboursB': nb,
    }


# ---------------------------------------------------------------------------------------------------------------
# RSM measures and eigenspace overlap

def euclidean_rdm(x):
    return squareform(pdist(x, 'euclidean'))


def rsm_norm_difference(xa, xb):
    return float(np.linalg.norm(euclidean_rdm(xa) - euclidean_rdm(xb), 'fro'))


def double_centre(d):
    return d - d.mean(axis=0, keepdims=True) - d.mean(axis=1, keepdims=True) + d.mean()


def distance_correlation(xa, xb):
    a = double_centre(euclidean_rdm(xa))
    b = double_centre(euclidean_rdm(xb))
    dcov2 = (a * b).mean()
    return float(np.sqrt(dcov2 / np.sqrt((a * a).mean() * (b * b).mean())))


def eigenspace_overlap(xa, xb):
    ua = np.linalg.svd(xa)[0][:, : np.linalg.matrix_rank(xa)]
    ub = np.linalg.svd(xb)[0][:, : np.linalg.matrix_rank(xb)]
    return float(np.linalg.norm(ua.T @ ub, 'fro') ** 2 / max(xa.shape[1], xb.shape[1]))


# ---------------------------------------------------------------------------------------------------------------
# RDM comparators

def triangle(d):
    n = d.shape[0]
    return d[np.triu_indices(n, 1)]


def cosine(u, v):
    return float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))


def second_moment(d):
    """G = -1/2 H D H."""
    n = d.shape[0]
    h = np.eye(n) - np.ones((n, n)) / n
    return -0.5 * h @ d @ h


def frobenius_cosine(g1, g2):
    return float(np.sum(g1 * g2) / np.sqrt(np.sum(g1 * g1) * np.sum(g2 * g2)))


def with_triangle(d, t):
    n = d.shape[0]
    out = np.zeros((n, n))
    out[np.triu_indices(n, 1)] = t
    return out + out.T


def whitened_cosine_v(t1, t2, n):
    """Cosine after whitening with V = (C C^T) ∘ (C C^T), C the pairwise-contrast matrix (iid pattern noise)."""
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    c = np.zeros((len(pairs), n))
    for r, (i, j) in enumerate(pairs):
        c[r, i] = 1
        c[r, j] = -1
    xi = c @ c.T
    v = xi * xi
    w1 = np.linalg.solve(v, t1)
    w2 = np.linalg.solve(v, t2)
    return float(t1 @ w2 / np.sqrt((t1 @ w1) * (t2 @ w2)))


def tau_a(x, y):
    m = len(x)
    s = 0
    for i in range(m):
        for j in range(i + 1, m):
            s += np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])
    return float(s / (m * (m - 1) / 2))


def rho_a(x, y):
    m = len(x)
    rx = scipy.stats.rankdata(x)
    ry = scipy.stats.rankdata(y)
    return float(12 * np.sum((rx - rx.mean()) * (ry - ry.mean())) / (m ** 3 - m))


def comparators(d1, d2):
    t1, t2 = triangle(d1), triangle(d2)
    n = d1.shape[0]
    cos_cov = frobenius_cosine(second_moment(d1), second_moment(d2))
    c1, c2 = t1 - t1.mean(), t2 - t2.mean()
    corr_cov = frobenius_cosine(second_moment(with_triangle(d1, c1)), second_moment(with_triangle(d2, c2)))
    return {
        'spearman': float(scipy.stats.spearmanr(t1, t2).statistic),
        'pearson': float(scipy.stats.pearsonr(t1, t2).statistic),
        'kendall': float(scipy.stats.kendalltau(t1, t2).statistic),
        'cosine': cosine(t1, t2),
        'cosine-cov': cos_cov,
        'corr-cov': corr_cov,
        'rho-a': rho_a(t1, t2),
        'tau-a': tau_a(t1, t2),
        # the same two comparators by explicit V-whitening (rsatoolbox's slow path with sigma_k = I)
        'cosine-cov-by-V': whitened_cosine_v(t1, t2, n),
        'corr-cov-by-V': whitened_cosine_v(c1, c2, n),
    }


# ---------------------------------------------------------------------------------------------------------------
# Ties

def gram_rdm_centred(x):
    """How RSA built Euclidean RDMs before: dot products of centred features (for the record: it splits ties)."""
    y = x - x.mean(axis=0)
    g = y @ y.T
    d = np.diag(g)
    return np.sqrt(np.maximum(0, d[:, None] + d[None, :] - 2 * g))


def distinct(values):
    return int(len(np.unique(values)))


def ties_section():
    out = {}
    a, b, q = model_int_1(), model_int_2(), model_quantised()
    for name, x in (('int1', a), ('int2', b), ('quantised', q)):
        exact = triangle(euclidean_rdm(x))
        exact_sq = triangle(euclidean_rdm(x) ** 2)
        out[name] = {
            'distinctEuclidean': distinct(exact),
            'distinctSquared': distinct(exact_sq),
            'distinctCentredGram': distinct(triangle(gram_rdm_centred(x))),
            'euclidean': exact.tolist(),
            'sqeuclidean': triangle(squareform(pdist(x, 'sqeuclidean'))).tolist(),
        }
    pairs = {}
    for name, (x, y) in {'int1~int2': (a, b), 'int1~quantised': (a, q), 'int2~quantised': (b, q)}.items():
        for rdm in ('euclidean', 'sqeuclidean'):
            t1 = triangle(squareform(pdist(x, rdm)))
            t2 = triangle(squareform(pdist(y, rdm)))
            pairs[f'{name}|{rdm}'] = {
                'spearman': float(scipy.stats.spearmanr(t1, t2).statistic),
                'kendall': float(scipy.stats.kendalltau(t1, t2).statistic),
                'tau-a': tau_a(t1, t2),
                'rho-a': rho_a(t1, t2),
            }
    out['pairs'] = pairs
    # Rank comparators on hand-sized tied vectors: a vector with itself, and two with ties in both.
    x = [1, 2, 2, 3, 3, 3]
    y = [1, 1, 2, 2, 3, 4]
    out['vectors'] = {
        'x': x,
        'y': y,
        'self': {
            'spearman': float(scipy.stats.spearmanr(x, x).statistic),
            'kendall': float(scipy.stats.kendalltau(x, x).statistic),
            'tau-a': tau_a(np.array(x, float), np.array(x, float)),
            'rho-a': rho_a(np.array(x, float), np.array(x, float)),
        },
        'xy': {
            'spearman': float(scipy.stats.spearmanr(x, y).statistic),
            'kendall': float(scipy.stats.kendalltau(x, y).statistic),
            'tau-a': tau_a(np.array(x, float), np.array(y, float)),
            'rho-a': rho_a(np.array(x, float), np.array(y, float)),
        },
    }
    return out


# ---------------------------------------------------------------------------------------------------------------

def main():
    models = {
        'A': model_a(),
        'B': model_b(),
        'C': model_wide_c(),
        'D': model_wide_d(),
        'Adeg': model_degenerate(),
        'Bdup': model_duplicate_rows(),
    }
    huge = {'Ahuge': model_a() * 1e150, 'Bhuge': model_b() * 1e150}
    pairs = [('A', 'B'), ('C', 'D'), ('Adeg', 'B'), ('A', 'Bdup'), ('Adeg', 'Bdup')]
    all_models = {**models, **huge}

    neigh = {}
    for k in (1, 3, 5, 10):
        for a, b in pairs:
            if k >= models[a].shape[0]:
                continue
            v = neighbourhood_values(models[a], models[b], k)
            neigh[f'{a}~{b}|k={k}'] = v
    # duplicated rows: the tie order itself (image 3 and its copies 7 and 20)
    dup_lists, _ = neighbours(models['Bdup'], 10)
    # CKNNA at k = n - 1 is unbiased CKA of the cosine kernels
    n = models['A'].shape[0]
    cka_check = {
        'cknna': cknna(models['A'], models['B'], n - 1),
        'unbiasedCkaCosine': unbiased_cka(cosine_similarities(models['A']), cosine_similarities(models['B'])),
    }

    geometry = {}
    for a, b in pairs + [('Ahuge', 'Bhuge'), ('A', 'Ahuge')]:
        xa, xb = all_models[a], all_models[b]
        huge_pair = 'huge' in a or 'huge' in b
        geometry[f'{a}~{b}'] = {
            'rsm-norm-diff': rsm_norm_difference(xa, xb),
            # the V-statistics overflow float64 at this scale here (squared distances ~1e300, squared again);
            # dCor is scale invariant, so the test expects the unscaled pair's value instead
            'dcor': None if huge_pair else distance_correlation(xa, xb),
            'eigenspace-overlap': eigenspace_overlap(xa, xb),
            'rankA': int(np.linalg.matrix_rank(xa)),
            'rankB': int(np.linalg.matrix_rank(xb)),
        }
    # dCor² is biased CKA of the distance matrices (double centring)
    da, db = double_centre(euclidean_rdm(models['A'])), double_centre(euclidean_rdm(models['B']))
    dcor_check = {'dcor2': float(distance_correlation(models['A'], models['B']) ** 2), 'frobeniusCosine': frobenius_cosine(da, db)}

    rdms = {
        'euclA': euclidean_rdm(models['A']),
        'corrB': squareform(pdist(models['B'] - models['B'].mean(axis=0), 'correlation')),
        'sqC': squareform(pdist(models['C'], 'sqeuclidean')),
        'euclD': euclidean_rdm(models['D']),
        'int1': euclidean_rdm(model_int_1()),
        'int2': euclidean_rdm(model_int_2()),
        # a categorical model RDM: 0 within, 1 between three categories of 5 images (mostly ties)
        'category': np.array([[0.0 if i // 5 == j // 5 else 1.0 for j in range(15)] for i in range(15)]),
    }
    rdm_pairs = [('euclA', 'corrB'), ('sqC', 'euclD'), ('int1', 'int2'), ('int1', 'category'), ('category', 'category')]
    comp = {f'{a}~{b}': comparators(rdms[a], rdms[b]) for a, b in rdm_pairs}
    for key, v in comp.items():
        assert abs(v['cosine-cov'] - v['cosine-cov-by-V']) < 1e-10, (key, v)
        assert abs(v['corr-cov'] - v['corr-cov-by-V']) < 1e-10, (key, v)
    # cosine-cov of squared-Euclidean RDMs is linear CKA (biased) of the features
    xc = models['C'] - models['C'].mean(axis=0)
    xd = models['D'] - models['D'].mean(axis=0)
    cka_lin = frobenius_cosine(xc @ xc.T, xd @ xd.T)
    comp_check = {'cosineCovSq': frobenius_cosine(second_moment(squareform(pdist(models['C'], 'sqeuclidean'))), second_moment(squareform(pdist(models['D'], 'sqeuclidean')))), 'linearCka': cka_lin}

    out = {
        'note': 'Generated by test/reference/measures16b.py (numpy %s, scipy %s); do not edit.' % (np.__version__, scipy.__version__),
        'models': {k: v.tolist() for k, v in models.items()},
        'intModels': {'int1': model_int_1().tolist(), 'int2': model_int_2().tolist(), 'quantised': model_quantised().tolist()},
        'neighbourhood': neigh,
        'duplicateNeighbours': dup_lists,
        'cknnaFullK': cka_check,
        'geometry': geometry,
        'dcorCheck': dcor_check,
        'rdms': {k: triangle(v).tolist() for k, v in rdms.items()},
        'rdmSizes': {k: int(v.shape[0]) for k, v in rdms.items()},
        'comparators': comp,
        'comparatorChecks': comp_check,
        'ties': ties_section(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write('\n')
    print('wrote', os.path.relpath(OUT))


if __name__ == '__main__':
    main()
