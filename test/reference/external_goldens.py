"""Golden values from the real netrep and rsatoolbox code (issue 16: "netrep/rsatoolbox values where a measure
exists there — compute them once, store as goldens").

Neither package installs on this machine (no PyPI), so their sources are extracted from the read-only bare git
mirrors and *run* in place; nothing of theirs is copied into this repository, only the numbers they produce and
the inputs they were given:

    mkdir -p /tmp/ext/netrep /tmp/ext/rsatoolbox
    git --git-dir=/work/.mirror/ahwillia+netrep/repo archive HEAD | tar -x -C /tmp/ext/netrep
    # the rsatoolbox mirror lacks a blob under demos/, so archive only src/:
    git --git-dir=/work/.mirror/rsagroup+rsatoolbox/repo archive HEAD src | tar -x -C /tmp/ext/rsatoolbox
    python3 test/reference/external_goldens.py --netrep /tmp/ext/netrep --rsatoolbox /tmp/ext/rsatoolbox

writes test/fixtures/measures16/external.json (deterministic: a second run gives a byte-identical file), read by
test/measures/externalGoldens16.test.ts (tests never run Python). Our side uses numpy and scipy only: to make the
inputs, the RDMs (scipy pdist) and the total variances used by the documented conversions.

What is stubbed, and why it cannot change the numbers
------------------------------------------------------
netrep imports scikit-learn and tqdm at module level (setup.py requires them); neither is installed. Minimal
stand-ins are written to a temporary directory put first on sys.path:

- sklearn.base.BaseEstimator: a plain empty class. netrep's metrics only inherit from it (for get_params /
  repr); no numerical method of BaseEstimator is called by fit / score.
- sklearn.utils.validation.check_is_fitted: a no-op. It only raises when a metric is scored before fit; here
  every score follows its fit (fit_score).
- sklearn.utils.validation.check_array: returns np.asarray(X, dtype=float64) after checking that X is finite and
  numeric. On the float64 arrays given here scikit-learn's check_array returns an equal array (it validates and
  at most copies), so the values entering netrep are the same.
- sklearn.utils.validation.check_random_state, sklearn.utils.extmath.randomized_svd,
  sklearn.metrics.pairwise.pairwise_kernels: imported by netrep/utils.py but used only by functions not called
  here (rand_orth, trunc_svd, centered_kernel); the stand-ins raise if called, so they cannot contribute a value.
- tqdm.tqdm: the identity (progress bars only, used in pairwise_distances, which is not called).
netrep's own modules (metrics/linear.py, perm.py, cka.py, utils.py, validation.py) run unmodified, with the real
numpy and scipy (np.linalg.eigh/svd, scipy.optimize.linear_sum_assignment).

rsatoolbox's package __init__ imports its visualisation, inference and I/O layers (matplotlib, pandas, h5py,
joblib, tqdm, ...). Nothing is stubbed for it: `rsatoolbox` and `rsatoolbox.rdm` are registered in sys.modules as
empty package modules whose __path__ is the source folder, so their heavy __init__ files are skipped, and then
rsatoolbox.rdm.compare is imported normally (it needs only rsatoolbox.util.matrix and rsatoolbox.util.rdm_utils,
numpy and scipy). compare() accepts RDM vectors as numpy arrays directly (its _parse_input_rdms), so no RDMs object
is needed. calc_rdm is NOT used: it needs rsatoolbox.data.Dataset (pandas, h5py) and the compiled cengine; the RDM
vectors are built here with scipy pdist instead, in the upper-triangle order rsatoolbox uses (squareform), from the
features centred over the images (taskmap's RSA centres first). So the rsatoolbox goldens check the comparators;
the RDMs themselves are checked against scipy.

Pairings (taskmap id ↔ external call) and the conventions behind them are listed in the JSON's "pairings" and
"notes"; a pairing is made only where both define the same quantity, or where a documented closed-form conversion
links them (the conversion is applied in the TypeScript test, from the stored raw value).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import types

import numpy as np
import scipy
from scipy.spatial.distance import pdist

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'fixtures', 'measures16', 'external.json')
SEED = 20261206

STUBS = {
    'sklearn/__init__.py': '',
    'sklearn/base.py': 'class BaseEstimator:\n    """stand-in: netrep only inherits from it"""\n',
    'sklearn/utils/__init__.py': '',
    'sklearn/utils/validation.py': (
        'import numpy as np\n'
        'def check_is_fitted(estimator, attributes=None):\n'
        '    return None\n'
        'def check_array(X, allow_nd=False, **kwargs):\n'
        '    X = np.asarray(X, dtype=np.float64)\n'
        '    if not np.all(np.isfinite(X)):\n'
        '        raise ValueError("stand-in check_array: non-finite input")\n'
        '    return X\n'
        'def check_random_state(seed):\n'
        '    raise NotImplementedError("stand-in: check_random_state is not used for the goldens")\n'
    ),
    'sklearn/utils/extmath.py': (
        'def randomized_svd(*args, **kwargs):\n'
        '    raise NotImplementedError("stand-in: randomized_svd is not used for the goldens")\n'
    ),
    'sklearn/metrics/__init__.py': '',
    'sklearn/metrics/pairwise.py': (
        'def pairwise_kernels(*args, **kwargs):\n'
        '    raise NotImplementedError("stand-in: pairwise_kernels is not used for the goldens")\n'
    ),
    'tqdm/__init__.py': 'def tqdm(iterable=None, *args, **kwargs):\n    return iterable\n',
}

STUB_NOTES = {
    'sklearn.base.BaseEstimator': 'plain empty class (netrep metrics only inherit from it)',
    'sklearn.utils.validation.check_is_fitted': 'no-op (every score follows its fit)',
    'sklearn.utils.validation.check_array': 'np.asarray(X, float64) + finiteness check (inputs are finite float64)',
    'sklearn.utils.validation.check_random_state': 'raises if called (only rand_orth uses it; not called)',
    'sklearn.utils.extmath.randomized_svd': 'raises if called (only trunc_svd uses it; not called)',
    'sklearn.metrics.pairwise.pairwise_kernels': 'raises if called (only centered_kernel uses it; not called)',
    'tqdm.tqdm': 'identity (progress bar of pairwise_distances; not called)',
    'rsatoolbox (package __init__)': 'skipped: empty package module with __path__ = src/rsatoolbox; nothing stubbed',
    'rsatoolbox.rdm (package __init__)': 'skipped: empty package module with __path__ = src/rsatoolbox/rdm; nothing stubbed',
}


def git_head(src):
    """Commit of the mirror the source was extracted from (the extraction folder has no .git)."""
    mirrors = {'netrep': '/work/.mirror/ahwillia+netrep/repo', 'rsatoolbox': '/work/.mirror/rsagroup+rsatoolbox/repo'}
    return subprocess.check_output(['git', '--git-dir', mirrors[src], 'rev-parse', 'HEAD'], text=True).strip()


def load_external(netrep_dir, rsa_dir, stub_dir):
    for rel, text in STUBS.items():
        path = os.path.join(stub_dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)
    sys.path.insert(0, stub_dir)
    sys.path.insert(1, netrep_dir)
    from netrep.metrics.linear import LinearMetric
    from netrep.metrics.perm import PermutationMetric
    from netrep.metrics.cka import LinearCKA

    pkg = os.path.join(rsa_dir, 'src', 'rsatoolbox')
    for name, path in (('rsatoolbox', pkg), ('rsatoolbox.rdm', os.path.join(pkg, 'rdm'))):
        mod = types.ModuleType(name)
        mod.__path__ = [path]
        sys.modules[name] = mod
    import importlib
    compare = importlib.import_module('rsatoolbox.rdm.compare').compare
    # Make sure the real modules were used, not something else on the path.
    import netrep.metrics.linear as lin
    assert os.path.realpath(lin.__file__).startswith(os.path.realpath(netrep_dir)), lin.__file__
    assert os.path.realpath(sys.modules['rsatoolbox.rdm.compare'].__file__).startswith(os.path.realpath(pkg))
    return LinearMetric, PermutationMetric, LinearCKA, compare


# ---------------------------------------------------------------------------------------------------------------
# Inputs

def make_models():
    rng = np.random.default_rng(SEED)
    models = {}
    n = 30
    z = rng.standard_normal((n, 4))
    models['A6'] = z @ rng.standard_normal((4, 6)) + 0.7 * rng.standard_normal((n, 6))
    models['B8'] = np.tanh(z @ rng.standard_normal((4, 8)) * 0.6 + 0.5 * rng.standard_normal((n, 8)))
    scale = np.exp(rng.uniform(-1, 1, 12))
    models['C12'] = (z @ rng.standard_normal((4, 12)) + rng.standard_normal((n, 12))) * scale + rng.uniform(-3, 3, 12)
    q, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    models['D8'] = models['B8'] @ q * 2.0 + 0.3 * rng.standard_normal((n, 8)) + 1.5
    models['E6'] = np.maximum(0, z @ rng.standard_normal((4, 6)) + 0.8 * rng.standard_normal((n, 6)))
    # n < p: n = 10 images, 25 features (centred rows span 9 dimensions).
    m = 10
    w = rng.standard_normal((m, 3))
    models['F25'] = w @ rng.standard_normal((3, 25)) + 0.5 * rng.standard_normal((m, 25))
    models['G25'] = w @ rng.standard_normal((3, 25)) + 0.8 * rng.standard_normal((m, 25))
    # Quantised: small integers, so the Euclidean RDMs have many exact ties (rank comparators).
    k = 14
    base = rng.integers(0, 3, (k, 3))
    models['Q1'] = base.astype(np.float64)
    models['Q2'] = np.clip(base + rng.integers(-1, 2, (k, 3)), 0, 3).astype(np.float64)
    models['Q3'] = rng.integers(0, 2, (k, 4)).astype(np.float64)
    return models


GROUPS = {'n30': ['A6', 'B8', 'C12', 'D8', 'E6'], 'n10': ['F25', 'G25'], 'ties': ['Q1', 'Q2', 'Q3']}


def pairs_of(names):
    return [(names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))]


def total_variance(x):
    xc = x - x.mean(axis=0)
    return float(np.sum(xc * xc))


def law_of_cosines(tx, ty, angle):
    """||X' - Y'|| for two sides of squared norms tx, ty at the given angle."""
    return float(np.sqrt(tx + ty - 2 * np.sqrt(tx * ty) * np.cos(angle)))


def has_null_directions(x, y):
    """Whether netrep's whitening clips an eigenvalue of the (zero-padded, centred) covariance: padded columns,
    n - 1 < p, or redundant features. There its score=euclidean rescaling differs from taskmap's."""
    p = max(x.shape[1], y.shape[1])
    return bool(x.shape[1] != y.shape[1] or x.shape[0] - 1 < p)


# ---------------------------------------------------------------------------------------------------------------
# RDMs (scipy; taskmap's RSA centres every feature over the images first)

def rdm_vector(x, kind):
    xc = x - x.mean(axis=0)
    if kind == 'correlation':
        return pdist(xc, 'correlation')
    if kind == 'cosine':
        return pdist(xc, 'cosine')
    # Euclidean distances do not depend on the centring; the raw features keep integer ties exact.
    if kind == 'euclidean':
        return pdist(x, 'euclidean')
    if kind == 'sqeuclidean':
        return pdist(x, 'sqeuclidean')
    raise ValueError(kind)


RSA_METHODS = {  # rsatoolbox method -> taskmap compare=
    'cosine': 'cosine',
    'spearman': 'spearman',
    'corr': 'pearson',
    'kendall': 'kendall',
    'tau-a': 'tau-a',
    'rho-a': 'rho-a',
    'corr_cov': 'corr-cov',
    'cosine_cov': 'cosine-cov',
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--netrep', required=True, help='folder holding the extracted netrep sources (netrep/ inside)')
    ap.add_argument('--rsatoolbox', required=True, help='folder holding the extracted rsatoolbox sources (src/rsatoolbox inside)')
    ap.add_argument('--out', default=OUT)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as stub_dir:
        LinearMetric, PermutationMetric, LinearCKA, compare = load_external(
            os.path.abspath(args.netrep), os.path.abspath(args.rsatoolbox), stub_dir)
        models = make_models()
        cases = []

        def add(source, call, measure, a, b, value, conversion='identity', **extra):
            case = {'source': source, 'call': call, 'measure': measure, 'a': a, 'b': b, 'raw': float(value),
                    'conversion': conversion}
            case.update(extra)
            cases.append(case)

        netrep_pairs = pairs_of(GROUPS['n30']) + pairs_of(GROUPS['n10'])
        for a, b in netrep_pairs:
            x, y = models[a], models[b]
            tx, ty = total_variance(x), total_variance(y)
            null = has_null_directions(x, y)
            for alpha in (1.0, 0.5, 0.0):
                al = f'{alpha:g}'
                ang = LinearMetric(alpha=alpha, center_columns=True, zero_pad=True, score_method='angular').fit_score(x, y)
                metric = LinearMetric(alpha=alpha, center_columns=True, zero_pad=True, score_method='euclidean').fit(x, y)
                euc = metric.score(x, y)
                xt, yt = metric.transform(x, y)
                kept = [float(np.sum(xt * xt)), float(np.sum(yt * yt))]
                law = law_of_cosines(tx, ty, ang)
                sid = 'shape' if alpha == 1 else f'shape:alpha={al}'
                call = f"LinearMetric(alpha={al}, center_columns=True, zero_pad=True, score_method='{{}}').fit_score(X, Y)"
                add('netrep', call.format('angular'), sid, a, b, ang)
                eid = 'shape:score=euclidean' if alpha == 1 else f'shape:alpha={al},score=euclidean'
                if alpha == 1 or not null:
                    # netrep kept each side's variance, so its euclidean score is the law of cosines on its angle.
                    assert abs(euc - law) <= 1e-9 * law and abs(kept[0] - tx) <= 1e-9 * tx, (a, b, alpha, euc, law, kept, tx)
                    add('netrep', call.format('euclidean'), eid, a, b, euc)
                else:
                    # netrep's preserve_variance counts a clipped eigenvalue (1e-7) for each padded / null
                    # direction, so its rescaled variance is not the data's; taskmap rescales each side to exactly
                    # its total variance. Both align by the same rotation, so taskmap's value is the law of cosines
                    # on netrep's angular value at the same alpha with the two total variances.
                    add('netrep', call.format('euclidean'), eid, a, b, euc, 'euclidean-from-angular',
                        angular=float(ang), totals=[tx, ty], netrep_variances=kept,
                        differs='netrep rescales by sum(lam)/new_var with clipped null eigenvalues counted in new_var, '
                                'so its transformed sides keep netrep_variances, not the total variances')
                if alpha == 1:
                    add('netrep', call.format('angular'), 'procrustes', a, b, ang, 'procrustes-from-angle')
                    add('netrep', call.format('angular'), 'procrustes:squared', a, b, ang, 'squared-procrustes-from-angle')
                    add('netrep', call.format('euclidean'), 'procrustes:scale=false', a, b, euc)
            for alpha in (1.0, 0.5):
                al = f'{alpha:g}'
                ang = LinearMetric(alpha=alpha, center_columns=False, zero_pad=True, score_method='angular').fit_score(x, y)
                sid = 'shape:center=false' if alpha == 1 else f'shape:alpha={al},center=false'
                add('netrep', f"LinearMetric(alpha={al}, center_columns=False, zero_pad=True, score_method='angular').fit_score(X, Y)",
                    sid, a, b, ang)
            for score in ('angular', 'euclidean'):
                for center in (True, False):
                    v = PermutationMetric(center_columns=center, zero_pad=True, score_method=score).fit_score(x, y)
                    parts = ([] if score == 'angular' else ['score=euclidean']) + ([] if center else ['center=false'])
                    pid = 'permutation' + (':' + ','.join(parts) if parts else '')
                    add('netrep', f"PermutationMetric(center_columns={center}, zero_pad=True, score_method='{score}').fit_score(X, Y)",
                        pid, a, b, v)
            # LinearCKA needs no padding: it compares the n x n Gram matrices.
            v = LinearCKA(center_columns=True).score(x, y)
            add('netrep', 'LinearCKA(center_columns=True).score(X, Y)', 'cka', a, b, v, 'cos')

        rsa_pairs = pairs_of(GROUPS['n30']) + pairs_of(GROUPS['n10'])
        for a, b in rsa_pairs:
            for kind in ('correlation', 'euclidean', 'sqeuclidean', 'cosine'):
                va, vb = rdm_vector(models[a], kind), rdm_vector(models[b], kind)
                for method, ours in RSA_METHODS.items():
                    v = compare(va, vb, method=method)
                    assert v.shape == (1, 1)
                    add('rsatoolbox', f"compare(rdm_a, rdm_b, method='{method}')", f'rsa:rdm={kind},compare={ours}', a, b, v[0, 0])
        tie_counts = {}
        for a, b in pairs_of(GROUPS['ties']):
            for kind in ('euclidean', 'sqeuclidean'):
                va, vb = rdm_vector(models[a], kind), rdm_vector(models[b], kind)
                for v_, name in ((va, a), (vb, b)):
                    tie_counts[f'{name}|{kind}'] = int(v_.size - np.unique(v_).size)
                for method, ours in RSA_METHODS.items():
                    v = compare(va, vb, method=method)
                    add('rsatoolbox', f"compare(rdm_a, rdm_b, method='{method}')", f'rsa:rdm={kind},compare={ours}', a, b, v[0, 0])

        out = {
            'generator': 'test/reference/external_goldens.py',
            'seed': SEED,
            'sources': {
                'netrep': {'repo': 'ahwillia/netrep', 'commit': git_head('netrep'),
                           'modules': ['netrep/metrics/linear.py', 'netrep/metrics/perm.py', 'netrep/metrics/cka.py',
                                       'netrep/utils.py', 'netrep/validation.py']},
                'rsatoolbox': {'repo': 'rsagroup/rsatoolbox', 'commit': git_head('rsatoolbox'),
                               'modules': ['src/rsatoolbox/rdm/compare.py', 'src/rsatoolbox/util/matrix.py',
                                           'src/rsatoolbox/util/rdm_utils.py']},
                'numpy': np.__version__,
                'scipy': scipy.__version__,
            },
            'stubs': STUB_NOTES,
            'groups': GROUPS,
            'models': {k: {'n': int(v.shape[0]), 'p': int(v.shape[1]), 'data': [float(t) for t in v.ravel()]}
                       for k, v in models.items()},
            'tie_counts': tie_counts,
            'conversions': {
                'identity': 'taskmap value = raw',
                'cos': 'taskmap cka = cos(raw): netrep LinearCKA is arccos of biased linear CKA (centred X, so XX^T = HXX^TH)',
                'procrustes-from-angle': 'taskmap procrustes (centred, unit Frobenius norm) = sqrt(2 - 2 cos(raw)), raw = netrep angular at alpha = 1',
                'squared-procrustes-from-angle': 'taskmap procrustes:squared = 2 - 2 cos(raw)',
                'euclidean-from-angular': 'taskmap = sqrt(tx + ty - 2 sqrt(tx ty) cos(angular)), tx, ty the centred total variances; '
                                          'raw (netrep euclidean) differs, see "differs"',
            },
            'notes': {
                'rdms': 'RDM vectors by scipy pdist (upper triangle, squareform order) on the features centred over the images '
                        '(correlation, cosine) or the raw features (euclidean, sqeuclidean: centring-invariant, keeps integer ties '
                        'exact); rsatoolbox calc_rdm not used (needs pandas/h5py/cengine)',
                'padding': 'netrep zero-pads the narrower side (zero_pad=True); taskmap treats it as zero-padded (no inner product changes)',
                'sigma_k': 'corr_cov / cosine_cov with sigma_k=None (rsatoolbox default), as taskmap',
            },
            'cases': cases,
        }
    text = json.dumps(out, indent=1, sort_keys=False)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        f.write(text + '\n')
    print(f'wrote {os.path.relpath(args.out)}: {len(cases)} cases, {len(models)} models')


if __name__ == '__main__':
    main()
