/**
 * The transfer benchmark's ground truth (src/benchmark/transferTruth.ts): test accuracy of the logistic and MLP
 * heads trained on a pool with cross-validated regularisation, each measurement cached by (features, labels, head
 * configuration) so that a second run computes nothing and any change recomputes exactly what it affects.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneBlasThreadEach } from '../../src/linalg/lapack.js';
import type { TransferTarget } from '../../src/benchmark/transferData.js';
import type { SourceFeatures, TransferFeatures } from '../../src/benchmark/transferSources.js';
import {
  DEFAULT_HEAD_CONFIGS,
  featuresDigest,
  groundTruth,
  groundTruthTable,
  headConfig,
  labelsDigest,
  truthKey,
  type TruthInput,
} from '../../src/benchmark/transferTruth.js';
import type { Matrix } from '../../src/linalg/dense.js';
import { accuracy, crossValidatedLogistic, headData, predictLogistic } from '../../src/transferability/logistic.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'taskmap-transfer-truth-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Features of image i with class c = i mod 4: a class signal of strength `s` in two of `d` columns plus structured noise. */
function features(n: number, d: number, s: number, offset = 0): Matrix {
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = (i + offset) % 4;
    for (let j = 0; j < d; j++) {
      const noise = ((((i + offset + 1) * (j + 3) * 7919) % 1009) / 1009 - 0.5) * 2;
      data[i * d + j] = noise + (j === c % d ? s : 0) + (j === (c + 1) % d && c > 1 ? s : 0);
    }
  }
  return { rows: n, cols: d, data };
}

const labels = (n: number, offset = 0) => Int32Array.from({ length: n }, (_, i) => (i + offset) % 4);

function input(source: string, s: number): TruthInput {
  return {
    source,
    target: 'four',
    features: { train: features(80, 6, s), test: features(40, 6, s, 80) },
    labels: { train: labels(80), test: labels(40, 80) },
  };
}

const SMALL_MLP = { hidden: 16, maxEpochs: 30, patience: 5, batchSize: 16, learningRate: 0.01 };

describe('groundTruth', () => {
  it('logistic: the accuracy on the test images of the head trained on the whole pool at the cross-validated λ', async () => {
    const cacheDir = join(dir, 'a');
    const inp = input('strong', 1.5);
    const r = await groundTruth(inp, 'logistic', { cacheDir });
    const c = DEFAULT_HEAD_CONFIGS.logistic;
    // The same computation by hand.
    const { fit, cv } = await crossValidatedLogistic(await headData(inp.features.train), inp.labels.train, {
      lambdas: c.lambdas,
      folds: c.folds,
      seed: c.seed,
      tol: c.tol,
      maxIter: c.maxIter,
    });
    expect(r.accuracy).toBe(accuracy(await predictLogistic(fit, inp.features.test), inp.labels.test));
    expect(r.chosen).toBe(cv.best);
    expect(r.grid).toEqual(c.lambdas);
    expect(r.cvAccuracy).toEqual(cv.accuracy);
    expect([r.trainImages, r.testImages, r.dims, r.folds]).toEqual([80, 40, 6, 3]);
    expect(r.accuracy).toBeGreaterThan(0.7);
    expect(r.cached).toBe(false);
    const weak = await groundTruth(input('weak', 0.1), 'logistic', { cacheDir });
    expect(weak.accuracy).toBeLessThan(r.accuracy);
  });

  it('mlp: weight decay chosen on the validation part (folds 0) or by k-fold CV', async () => {
    const cacheDir = join(dir, 'b');
    const hold = await groundTruth(input('strong', 1.5), 'mlp', { cacheDir, configs: { mlp: SMALL_MLP } });
    expect(hold.folds).toBe(0);
    expect(hold.grid).toEqual(DEFAULT_HEAD_CONFIGS.mlp.weightDecays);
    expect(hold.cvAccuracy).toHaveLength(2);
    expect(hold.grid).toContain(hold.chosen);
    expect(hold.accuracy).toBeGreaterThan(0.6);
    expect(hold.details.epochs).toBeGreaterThan(0);
    const kfold = await groundTruth(input('strong', 1.5), 'mlp', { cacheDir, configs: { mlp: { ...SMALL_MLP, folds: 3 } } });
    expect(kfold.folds).toBe(3);
    expect(kfold.key).not.toBe(hold.key);
  });

  it('caches each measurement: a second call computes nothing; other labels, features or settings compute again', async () => {
    const cacheDir = join(dir, 'c');
    const inp = input('strong', 1.5);
    const first = await groundTruth(inp, 'logistic', { cacheDir });
    expect(readdirSync(join(cacheDir, 'transfer', 'truth'))).toEqual([`${first.key}.json`]);
    const t0 = performance.now();
    const second = await groundTruth(inp, 'logistic', { cacheDir });
    expect(performance.now() - t0).toBeLessThan(first.ms);
    expect(second).toEqual({ ...first, cached: true });
    // Reported under the caller's names, whatever they were when it was computed.
    expect((await groundTruth({ ...inp, source: 'renamed' }, 'logistic', { cacheDir })).source).toBe('renamed');
    const relabelled = { ...inp, labels: { train: inp.labels.train.map((l) => l % 2), test: inp.labels.test.map((l) => l % 2) } };
    expect((await groundTruth(relabelled, 'logistic', { cacheDir })).cached).toBe(false);
    const moved = { ...inp, features: { train: inp.features.train, test: features(40, 6, 1.5, 81) } };
    expect((await groundTruth(moved, 'logistic', { cacheDir })).cached).toBe(false);
    expect((await groundTruth(inp, 'logistic', { cacheDir, configs: { logistic: { folds: 4 } } })).cached).toBe(false);
    expect((await groundTruth(inp, 'logistic', { cacheDir, configs: { logistic: { folds: 4 } } })).cached).toBe(true);
    expect(readdirSync(join(cacheDir, 'transfer', 'truth'))).toHaveLength(4);
  });

  it('keys: digests of the float64 features and the labels, and the full head configuration', () => {
    const inp = input('x', 1);
    const f = featuresDigest(inp.features);
    const l = labelsDigest(inp.labels);
    expect(f).toMatch(/^[0-9a-f]{64}$/);
    expect(featuresDigest({ train: inp.features.train, test: { ...inp.features.test, data: Float64Array.from(inp.features.test.data) } })).toBe(f);
    const nudged = Float64Array.from(inp.features.train.data);
    nudged[5] += 1e-12;
    expect(featuresDigest({ ...inp.features, train: { ...inp.features.train, data: nudged } })).not.toBe(f);
    const k = truthKey(f, l, 'logistic', headConfig('logistic'));
    expect(truthKey(f, l, 'logistic', headConfig('logistic', { logistic: { lambdas: [1] } }))).not.toBe(k);
    expect(truthKey(f, l, 'mlp', headConfig('mlp'))).not.toBe(k);
    expect(headConfig('mlp', { mlp: { hidden: 8 } })).toEqual({ ...DEFAULT_HEAD_CONFIGS.mlp, hidden: 8 });
  });

  it('refuses inputs that do not fit together', async () => {
    const inp = input('x', 1);
    await expect(groundTruth({ ...inp, labels: { ...inp.labels, train: inp.labels.train.slice(1) } }, 'logistic', { cacheDir: dir })).rejects.toThrow(
      /x → four: 80 train feature rows but 79 labels/,
    );
    await expect(groundTruth({ ...inp, labels: { ...inp.labels, test: inp.labels.test.slice(1) } }, 'logistic', { cacheDir: dir })).rejects.toThrow(
      /40 test feature rows but 39 labels/,
    );
    await expect(groundTruth({ ...inp, features: { ...inp.features, test: features(40, 5, 1) } }, 'logistic', { cacheDir: dir })).rejects.toThrow(
      /6 train features but 5 test features/,
    );
    await expect(groundTruth({ ...inp, labels: { train: new Int32Array(80), test: inp.labels.test } }, 'logistic', { cacheDir: dir })).rejects.toThrow(
      /the training pool has a single class/,
    );
  });
});

describe('groundTruthTable', () => {
  /** A stand-in for extractTransferFeatures' result: two sources on one data set, loads counted. */
  function fakeFeatures(loads: string[]): TransferFeatures {
    const bySource: Record<string, SourceFeatures> = {
      good: { train: features(80, 6, 1.5), test: features(40, 6, 1.5, 80) },
      poor: { train: features(80, 4, 0.2), test: features(40, 4, 0.2, 80) },
    };
    return {
      dataset: 'fmnist',
      dir,
      labels: ['good', 'poor'],
      info: {},
      failed: [],
      summary: undefined as never,
      load: async (label) => {
        loads.push(label);
        return bySource[label];
      },
    };
  }
  const targets: TransferTarget[] = [
    { id: 'fmnist', dataset: 'fmnist', description: '', classNames: ['a', 'b', 'c', 'd'], classOf: [], train: labels(80), test: labels(40, 80) },
    {
      id: 'fmnist-shoes',
      dataset: 'fmnist',
      description: '',
      classNames: ['x', 'y'],
      classOf: [],
      train: labels(80).map((l) => (l > 1 ? 1 : 0)),
      test: labels(40, 80).map((l) => (l > 1 ? 1 : 0)),
    },
    { id: 'digits', dataset: 'digits', description: '', classNames: [], classOf: [], train: labels(10), test: labels(10) },
  ];

  it('every (source, target, head) of the data sets given, each source loaded once; a warm re-run computes nothing', async () => {
    const cacheDir = join(dir, 't');
    const loads: string[] = [];
    const progress: string[] = [];
    const recs = await groundTruthTable({
      targets,
      features: { fmnist: fakeFeatures(loads) },
      cacheDir,
      configs: { mlp: SMALL_MLP },
      threads: 2,
      onProgress: (done, total, what) => progress.push(`${done}/${total} ${what}`),
    });
    expect(recs.map((r) => `${r.source} ${r.target} ${r.head}`)).toEqual([
      'good fmnist logistic',
      'good fmnist mlp',
      'good fmnist-shoes logistic',
      'good fmnist-shoes mlp',
      'poor fmnist logistic',
      'poor fmnist mlp',
      'poor fmnist-shoes logistic',
      'poor fmnist-shoes mlp',
    ]);
    expect(loads).toEqual(['good', 'poor']);
    // One message per measurement as it finishes (the two sources ran side by side), then the end.
    expect(progress.slice(0, 8).map((x) => x.split(' ')[0])).toEqual(['1/8', '2/8', '3/8', '4/8', '5/8', '6/8', '7/8', '8/8']);
    expect(
      progress
        .slice(0, 8)
        .map((x) => x.slice(x.indexOf(' ') + 1))
        .sort(),
    ).toEqual(recs.map((r) => `${r.source} → ${r.target} (${r.head})`).sort());
    expect(progress[progress.length - 1]).toBe('8/8 done');
    expect(recs.every((r) => !r.cached)).toBe(true);
    const byKey = (s: string, t: string) => recs.find((r) => r.source === s && r.target === t && r.head === 'logistic')!.accuracy;
    expect(byKey('good', 'fmnist')).toBeGreaterThan(byKey('poor', 'fmnist'));
    const again = await groundTruthTable({ targets, features: { fmnist: fakeFeatures([]) }, cacheDir, configs: { mlp: SMALL_MLP } });
    expect(again.every((r) => r.cached)).toBe(true);
    expect(again.map((r) => r.accuracy)).toEqual(recs.map((r) => r.accuracy));
    const only = await groundTruthTable({ targets, features: { fmnist: fakeFeatures([]) }, cacheDir, heads: ['logistic'], sources: ['poor'] });
    expect(only.map((r) => `${r.source} ${r.target} ${r.head}`)).toEqual(['poor fmnist logistic', 'poor fmnist-shoes logistic']);
    expect(existsSync(join(cacheDir, 'transfer', 'truth'))).toBe(true);
    // On this thread (a fresh cache): the same measurements. The workers' products ran on one BLAS thread, so this
    // thread does too for the comparison to be exact.
    const restoreBlas = oneBlasThreadEach();
    try {
      const one = await groundTruthTable({
        targets,
        features: { fmnist: fakeFeatures([]) },
        cacheDir: join(dir, 't1'),
        configs: { mlp: SMALL_MLP },
        threads: 1,
      });
      const strip = (r: (typeof recs)[number]) => ({ ...r, ms: 0 });
      expect(one.map(strip)).toEqual(recs.map(strip));
    } finally {
      restoreBlas();
    }
  });

  it('an error in one lane stops the others: nothing is measured or written after the table rejects', async () => {
    // "bad" fails its input check at once; "poor" is still loading then, and must not go on to measure.
    const base = fakeFeatures([]);
    const slow: TransferFeatures = {
      ...base,
      labels: ['bad', 'poor'],
      load: async (label) => {
        if (label === 'bad') return { train: features(79, 6, 1.5), test: features(40, 6, 1.5, 80) };
        await new Promise((resolve) => setTimeout(resolve, 300));
        return base.load('poor');
      },
    };
    const cacheDir = join(dir, 't3');
    await expect(groundTruthTable({ targets, features: { fmnist: slow }, cacheDir, heads: ['logistic'], threads: 2 })).rejects.toThrow(
      /bad → fmnist: 79 train feature rows but 80 labels/,
    );
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const truthDir = join(cacheDir, 'transfer', 'truth');
    expect(existsSync(truthDir) ? readdirSync(truthDir) : []).toEqual([]);
  });

  it('a source whose fit fails on a worker fails the table, naming the source', async () => {
    const bad = targets.map((t) => (t.id === 'fmnist' ? { ...t, train: new Int32Array(80) } : t));
    await expect(groundTruthTable({ targets: bad, features: { fmnist: fakeFeatures([]) }, cacheDir: join(dir, 't2'), threads: 2 })).rejects.toThrow(
      /(good|poor) → fmnist: the training pool has a single class/,
    );
  });
});
