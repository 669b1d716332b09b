import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTf } from '../../src/models/tfjs.js';
import type { ImageDataset } from '../../src/nsl/data.js';
import { alignEmbeddings, diagonalFisher, frechetDistance, logDetDistance, taskEmbedding, type FisherEmbedding } from '../../src/nsl/fisher.js';
import { parseTaskMeasure, taskDistanceMatrix, taskMeasureId } from '../../src/nsl/taskMeasures.js';
import { prototypeImages } from './synthetic.js';

beforeAll(async () => {
  await loadTf();
});

function embedding(tensors: [string, number[], number[]][]): FisherEmbedding {
  const t = tensors.map(([name, shape, values]) => ({ name, shape, values: Float64Array.from(values) }));
  return { tensors: t, parameters: t.reduce((s, x) => s + x.values.length, 0), total: 1, images: 1 };
}

describe('log-det and Fréchet distances (hand-worked)', () => {
  const A = embedding([
    ['l1/kernel', [2], [0.4, 0.1]],
    ['l2/kernel', [1], [0.5]],
  ]);
  const B = embedding([
    ['l1/kernel', [2], [0.2, 0.2]],
    ['l2/kernel', [1], [0.6]],
  ]);

  it('log-det: per-layer |Σ log ratio| over P', () => {
    // layer 1: |log(0.4/0.2) + log(0.1/0.2)| = |log 2 − log 2| = 0; layer 2: |log(0.5/0.6)| = 0.18232…; P = 3.
    // (The 1e-10 floor moves this by ~1e-10.)
    const r = logDetDistance(A, B);
    expect(r.distance).toBeCloseTo(0.06077385226465153, 9);
    expect(logDetDistance(A, B, 1e-300).distance).toBeCloseTo(0.06077385226465153, 14);
    expect(r.floorHits).toBe(0);
    expect(r.entries).toBe(3);
    expect(logDetDistance(A, A).distance).toBe(0);
  });

  it('Fréchet: ½ Σ (√a − √b)²', () => {
    expect(frechetDistance(A, B)).toBeCloseTo(0.028013373782905374, 14);
    expect(frechetDistance(B, A)).toBeCloseTo(0.028013373782905374, 14);
  });

  it('pads the smaller head with zeros and counts the entries that hit the floor', () => {
    // A 1-class head [0.5] against a 2-class head [0.5, 0.3]: the padded entry is 0 on one side only.
    const small = embedding([['head/kernel', [1, 1], [0.5]]]);
    const large = embedding([['head/kernel', [1, 2], [0.5, 0.3]]]);
    const { a, b } = alignEmbeddings(small, large);
    expect(Array.from(a)).toEqual([0.5, 0]);
    expect(Array.from(b)).toEqual([0.5, 0.3]);
    const r = logDetDistance(small, large);
    // |log((0.5+ε)/(0.5+ε)) + log(ε/(0.3+ε))| / P_target(= 2), ε = 1e-10.
    expect(r.distance).toBeCloseTo(21.821878125947855 / 2, 10);
    expect(r.floorHits).toBe(1);
    expect(r.bothBelowFloor).toBe(0);
    // The floor is a parameter and dominates that entry.
    expect(logDetDistance(small, large, 1e-6).distance).toBeCloseTo(Math.abs(Math.log(1e-6 / (0.3 + 1e-6))) / 2, 10);
  });

  it('refuses embeddings of different probe networks', () => {
    expect(() => logDetDistance(A, embedding([['other/kernel', [3], [1, 0, 0]]]))).toThrow(/same probe architecture/);
  });

  it('task-measure ids parse, validate and round-trip', () => {
    expect(parseTaskMeasure('fisher-logdet')).toEqual({ family: 'fisher-logdet', floor: 1e-10, reduce: 'element' });
    const c = parseTaskMeasure('fisher-logdet:floor=1e-8,reduce=first-axis');
    expect(taskMeasureId(c)).toBe('fisher-logdet:floor=1e-8,reduce=first-axis');
    expect(taskMeasureId(parseTaskMeasure('fisher-frechet'))).toBe('fisher-frechet');
    expect(() => parseTaskMeasure('fisher-frechet:floor=1')).toThrow(/unknown parameter "floor"/);
    expect(() => parseTaskMeasure('fisher-logdet:floor=-1')).toThrow(/positive/);
    expect(() => parseTaskMeasure('rsa')).toThrow(/unknown task measure/);
  });
});

describe('diagonal empirical Fisher', () => {
  // A linear softmax classifier (flatten + dense, no bias) on three 1×2 "images", batches of 2 and 1.
  const W = [
    [0.5, -0.3],
    [0.2, 0.4],
  ];
  const X = [
    [1, 2],
    [3, 0],
    [2, 2],
  ];
  const Y = [0, 1, 1];
  const data: ImageDataset = {
    images: Uint8Array.from(X.flat()),
    labels: Int32Array.from(Y),
    n: 3,
    height: 1,
    width: 2,
    channels: 1,
    numClasses: 2,
    classNames: ['a', 'b'],
  };

  /** F[i][j] = Σ_batches ((1/B) Σ_n x_ni (p_nj − y_nj))², computed by hand. */
  function expected(): number[][] {
    const F = [
      [0, 0],
      [0, 0],
    ];
    for (const batch of [[0, 1], [2]]) {
      const g = [
        [0, 0],
        [0, 0],
      ];
      for (const n of batch) {
        const z = [0, 1].map((j) => X[n][0] * W[0][j] + X[n][1] * W[1][j]);
        const m = Math.max(...z);
        const e = z.map((v) => Math.exp(v - m));
        const p = e.map((v) => v / (e[0] + e[1]));
        for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) g[i][j] += (X[n][i] * (p[j] - (Y[n] === j ? 1 : 0))) / batch.length;
      }
      for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) F[i][j] += g[i][j] ** 2;
    }
    return F;
  }

  function model(): tf.Sequential {
    const m = tf.sequential({
      layers: [tf.layers.flatten({ inputShape: [1, 2, 1], name: 'flat' }), tf.layers.dense({ units: 2, useBias: false, name: 'dense' })],
    });
    m.layers[1].setWeights([tf.tensor2d(W)]);
    return m;
  }

  it('is Σ_batches g² of the batch-mean cross-entropy, normalised to sum 1', async () => {
    const F = expected();
    const total = F.flat().reduce((a, b) => a + b, 0);
    const emb = await diagonalFisher(model(), data, { batchSize: 2 });
    expect(emb.tensors.map((t) => t.name)).toEqual(['dense/kernel']);
    expect(emb.total).toBeCloseTo(total, 5);
    const want = F.flat().map((v) => v / total);
    Array.from(emb.tensors[0].values).forEach((v, i) => expect(v).toBeCloseTo(want[i], 6));
    expect(emb.parameters).toBe(4);
  });

  it('reference quirk: g² averaged over the first axis', async () => {
    const F = expected();
    const col = [0, 1].map((j) => (F[0][j] + F[1][j]) / 2);
    const total = 2 * (col[0] + col[1]);
    const emb = await diagonalFisher(model(), data, { batchSize: 2, firstAxisMean: true });
    const want = [col[0], col[1], col[0], col[1]].map((v) => v / total);
    Array.from(emb.tensors[0].values).forEach((v, i) => expect(v).toBeCloseTo(want[i], 6));
  });
});

describe('task distances on constructed tasks', () => {
  it('two samples of the same task are closer than tasks with disjoint classes (log-det and Fréchet)', async () => {
    const task = (name: string, classes: number[], seed: number) => ({
      name,
      train: prototypeImages(classes, 16, { sampleSeed: seed }),
      probe: prototypeImages(classes, 8, { sampleSeed: seed + 100 }),
    });
    const tasks = [task('A', [0, 1, 2], 1), task('A-again', [0, 1, 2], 2), task('B', [3, 4, 5], 3)];
    const config = {
      network: { variant: 'conv' as const, widths: [4, 4, 4, 4] as [number, number, number, number], layersPerStage: 1, batchNorm: { decay: 0.9 } },
      epochs: 4,
      batchSize: 16,
      learningRate: 0.05,
      inputScale: 1 / 255,
      augmentPad: 0,
      seed: 5,
    };
    const embeddings = [];
    for (const t of tasks) embeddings.push(await taskEmbedding(t, { config }));
    for (const id of ['fisher-logdet', 'fisher-frechet']) {
      const { matrix } = taskDistanceMatrix(
        tasks.map((t) => t.name),
        embeddings,
        parseTaskMeasure(id),
      );
      const d = (i: number, j: number) => matrix.matrix.data[i * 3 + j];
      expect(matrix.measure).toBe(id);
      expect(d(0, 0)).toBe(0);
      expect(d(0, 1), `${id}: A→A-again ${d(0, 1)} vs A→B ${d(0, 2)}`).toBeLessThan(d(0, 2));
      expect(d(1, 0)).toBeLessThan(d(1, 2));
    }
  });
});
