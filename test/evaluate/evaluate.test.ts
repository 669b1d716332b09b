import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeUnmatched, evaluatePrediction, truthFromResultDict, type EvalMetric } from '../../src/evaluate/evaluate.js';
import { readLabelledMatrix } from '../../src/io/labelledMatrix.js';
import { fromRows, transpose } from '../../src/linalg/dense.js';
import type { LabelledMatrix } from '../../src/linalg/labelled.js';
import { repoRoot, sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';

// ---------------------------------------------------------------------------------------------------------
// Hand-worked case. Sources A…E; the prediction is a symmetric 5×5 similarity, the truth has targets A and B.
// ---------------------------------------------------------------------------------------------------------
const labels = ['A', 'B', 'C', 'D', 'E'];
const predicted: LabelledMatrix = {
  rows: labels,
  cols: labels,
  matrix: fromRows([
    [1.0, 0.9, 0.5, 0.1, 0.3],
    [0.9, 1.0, 0.2, 0.7, 0.4],
    [0.5, 0.2, 1.0, 0.6, 0.6],
    [0.1, 0.7, 0.6, 1.0, 0.8],
    [0.3, 0.4, 0.6, 0.8, 1.0],
  ]),
};
const truth: LabelledMatrix = {
  rows: labels,
  cols: ['A', 'B'],
  matrix: fromRows([
    [0.7, 0.3],
    [0.8, 0.95],
    [0.6, 0.9],
    [0.2, 0.5],
    [0.1, 0.1],
  ]),
};

describe('evaluatePrediction — hand-worked', () => {
  // Target A over B,C,D,E: predicted (0.9, 0.5, 0.1, 0.3) → ranks (4, 3, 1, 2); truth (0.8, 0.6, 0.2, 0.1) → (4, 3, 2, 1).
  //   Spearman 1 − 6·Σd²/(n(n²−1)) = 1 − 6·2/60 = 0.8; Kendall: only (D, E) discordant → (5 − 1)/6 = 2/3.
  //   Best predicted B is the true best → top1 1, regret 0.
  // Target B over A,C,D,E: predicted (0.9, 0.2, 0.7, 0.4) → (4, 1, 3, 2); truth (0.3, 0.9, 0.5, 0.1) → (2, 4, 3, 1).
  //   Σd² = 4 + 9 + 0 + 1 = 14 → 1 − 84/60 = −0.4; Kendall: 2 concordant, 4 discordant → −1/3.
  //   Predicted best A has true 0.3, the true best C has 0.9 → top1 0, regret 0.6.
  const cases: [EvalMetric, number, number][] = [
    ['spearman', 0.8, -0.4],
    ['kendall', 2 / 3, -1 / 3],
    // Σ of centred products / √(Σ²·Σ²), worked on the centred columns
    ['pearson', 0.305 / Math.sqrt(0.35 * 0.3275), -0.4708236154307585],
    // scipy.stats.weightedtau on the same columns
    ['weightedtau', 0.8133333333333331, -0.43999999999999995],
    ['top1', 1, 0],
    ['regret', 0, 0.6],
  ];
  for (const [metric, a, b] of cases) {
    it(metric, () => {
      const r = evaluatePrediction(predicted, truth, { metric });
      expect(r.metric).toBe(metric);
      expect(r.includeSelf).toBe(false);
      expect(r.targets).toEqual(['A', 'B']);
      expect(r.sources).toEqual(labels);
      expect(r.per_target.A).toBeCloseTo(a, 12);
      expect(r.per_target.B).toBeCloseTo(b, 12);
      expect(r.mean).toBeCloseTo((a + b) / 2, 12);
      expect(r.undefined_targets).toEqual([]);
    });
  }

  it('includeSelf keeps source t for target t (DDS protocol)', () => {
    // Target B over A…E: predicted (0.9, 1, 0.2, 0.7, 0.4) → (4, 5, 1, 3, 2); truth (0.3, 0.95, 0.9, 0.5, 0.1) →
    // (2, 5, 4, 3, 1); Σd² = 14 → 1 − 84/120 = 0.3.
    const r = evaluatePrediction(predicted, truth, { includeSelf: true, targets: ['B'] });
    expect(r.per_target.B).toBeCloseTo(0.3, 12);
    expect(r.includeSelf).toBe(true);
  });

  it('a tie for the predicted best goes to the first source in source order', () => {
    // Target C, predicted: D and E tie at 0.6 (A 0.5, B 0.2); truth column C favours E.
    const truthC: LabelledMatrix = { rows: labels, cols: ['C'], matrix: fromRows([[0.2], [0.1], [0.9], [0.3], [0.5]]) };
    const dFirst = evaluatePrediction(predicted, truthC, { metric: 'regret', sources: ['A', 'B', 'D', 'E'] });
    expect(dFirst.per_target.C).toBeCloseTo(0.5 - 0.3, 12);
    const eFirst = evaluatePrediction(predicted, truthC, { metric: 'regret', sources: ['A', 'B', 'E', 'D'] });
    expect(eFirst.per_target.C).toBe(0);
    expect(evaluatePrediction(predicted, truthC, { metric: 'top1', sources: ['A', 'B', 'E', 'D'] }).per_target.C).toBe(1);
  });

  it('top1 counts any of several tied true bests as correct', () => {
    const tiedTruth: LabelledMatrix = { rows: labels, cols: ['A'], matrix: fromRows([[0], [0.8], [0.8], [0.2], [0.1]]) };
    // predicted best for A is B (0.9); B ties with C for the true best
    const r = evaluatePrediction(predicted, tiedTruth, { metric: 'top1' });
    expect(r.per_target.A).toBe(1);
  });

  it('a constant column makes the target undefined: null, listed, left out of the mean', () => {
    const flat: LabelledMatrix = {
      rows: labels,
      cols: ['A', 'B'],
      matrix: fromRows([
        [0, 0.3],
        [1, 0.95],
        [1, 0.9],
        [1, 0.5],
        [1, 0.1],
      ]),
    };
    const r = evaluatePrediction(predicted, flat);
    expect(r.per_target.A).toBeNull();
    expect(r.undefined_targets).toEqual(['A']);
    expect(r.mean).toBeCloseTo(-0.4, 12);
    const none = evaluatePrediction(predicted, flat, { targets: ['A'] });
    expect(none.mean).toBeNull();
  });

  it('aliases rename the labels of both matrices; targets/sources use the new names', () => {
    const renamed: LabelledMatrix = { ...predicted, rows: ['a', 'b', 'C', 'D', 'E'], cols: ['a', 'b', 'C', 'D', 'E'] };
    const truthRenamed: LabelledMatrix = { ...truth, rows: ['A', 'b', 'C', 'D', 'E'] };
    const r = evaluatePrediction(renamed, truthRenamed, { aliases: { a: 'A', b: 'B' }, targets: ['A', 'B'] });
    expect(r.sources).toEqual(labels);
    expect(r.per_target.A).toBeCloseTo(0.8, 12);
    expect(r.per_target.B).toBeCloseTo(-0.4, 12);
  });

  it('aliases only rename listed labels (a task called "constructor" is not an Object.prototype member)', () => {
    const odd: LabelledMatrix = { ...predicted, rows: ['constructor', 'B', 'C', 'D', 'E'], cols: ['constructor', 'B', 'C', 'D', 'E'] };
    const oddTruth: LabelledMatrix = { ...truth, rows: ['constructor', 'B', 'C', 'D', 'E'], cols: ['constructor', 'B'] };
    expect(evaluatePrediction(odd, oddTruth, { aliases: {} }).per_target.constructor).toBeCloseTo(0.8, 12);
  });

  it('defaults to the labels both matrices share, in the truth order', () => {
    const sub: LabelledMatrix = {
      rows: ['E', 'D', 'C', 'B', 'Z'],
      cols: ['B', 'Q'],
      matrix: fromRows([[0.1], [0.5], [0.9], [0.95], [0.4]].map((r) => [r[0], 0])),
    };
    const r = evaluatePrediction(predicted, sub);
    expect(r.sources).toEqual(['E', 'D', 'C', 'B']);
    expect(r.targets).toEqual(['B']);
    // over C, D, E (B is the target itself): predicted (0.2, 0.7, 0.4), truth (0.9, 0.5, 0.1) → ranks (1,3,2) vs (3,2,1)
    expect(r.per_target.B).toBeCloseTo(1 - (6 * (4 + 1 + 1)) / 24, 12);
  });
});

describe('evaluatePrediction — unmatched labels (issue 17)', () => {
  it('lists the labels only one matrix has, which used to be dropped silently; nothing when sources/targets are given', () => {
    const extra: LabelledMatrix = {
      rows: [...labels, 'F'],
      cols: [...labels, 'F'],
      matrix: fromRows([...labels, 'F'].map((_, i) => [...labels, 'F'].map((__, j) => (i === j ? 1 : 1 / (1 + Math.abs(i - j)))))),
    };
    const t2: LabelledMatrix = { rows: [...truth.rows, 'G', 'random'], cols: [...truth.cols, 'H'], matrix: fromRows([...Array(7)].map(() => [0.1, 0.2, 0.3])) };
    t2.matrix.data.set(truth.matrix.data);
    const r = evaluatePrediction(extra, t2);
    expect(r.unmatched).toEqual({ sources: { predictedOnly: ['F'], truthOnly: ['G'] }, targets: { predictedOnly: ['C', 'D', 'E', 'F'], truthOnly: ['H'] } });
    expect(describeUnmatched(r.unmatched)).toEqual([
      'source (row) labels only in the prediction, left out: F',
      'source (row) labels only in the truth, left out: G',
      'target (column) labels only in the prediction, left out: C, D, E, F',
      'target (column) labels only in the truth, left out: H (check the names, or pass --alias old=new)',
    ]);
    const chosen = evaluatePrediction(extra, t2, { sources: labels, targets: ['A', 'B'] });
    expect(chosen.unmatched).toEqual({ sources: { predictedOnly: [], truthOnly: [] }, targets: { predictedOnly: [], truthOnly: [] } });
    expect(describeUnmatched(chosen.unmatched)).toEqual([]);
  });
});

describe('evaluatePrediction — errors', () => {
  it('names unknown targets and sources and lists the available labels', () => {
    expect(() => evaluatePrediction(predicted, truth, { targets: ['A', 'C'] })).toThrow(/target "C" not found in the truth columns \(available: A, B\)/);
    expect(() => evaluatePrediction(predicted, truth, { targets: ['X'] })).toThrow(
      /"X" not found in the predicted columns \(available: A, B, C, D, E\); target "X" not found in the truth columns/,
    );
    expect(() => evaluatePrediction(predicted, truth, { sources: ['A', 'B', 'Y', 'Z'] })).toThrow(
      /source "Y", "Z" not found in the predicted rows \(available: A, B, C, D, E\)/,
    );
  });

  it('needs at least 3 candidate sources per target', () => {
    expect(() => evaluatePrediction(predicted, truth, { sources: ['A', 'B', 'C'] })).toThrow(/target "A" has 2 candidate source\(s\); at least 3/);
  });

  it('refuses missing (NaN) cells, naming the transfer', () => {
    const holes: LabelledMatrix = {
      ...truth,
      matrix: fromRows([
        [0.7, 0.3],
        [0.8, 0.95],
        [Number.NaN, 0.9],
        [0.2, 0.5],
        [0.1, 0.1],
      ]),
    };
    expect(() => evaluatePrediction(predicted, holes)).toThrow(/truth has NaN for source "C" → target "A"/);
  });

  it('rejects alias collisions, duplicate restrictions, no shared target and unknown metrics', () => {
    expect(() => evaluatePrediction(predicted, truth, { aliases: { A: 'B' } })).toThrow(/label "B" appears twice/);
    expect(() => evaluatePrediction(predicted, truth, { targets: ['A', 'A'] })).toThrow(/target "A" is listed twice/);
    const other: LabelledMatrix = { ...truth, cols: ['P', 'Q'] };
    expect(() => evaluatePrediction(predicted, other)).toThrow(/share no target/);
    expect(() => evaluatePrediction(predicted, truth, { metric: 'ndcg' as EvalMetric })).toThrow(/unknown metric "ndcg"/);
    expect(() => evaluatePrediction(predicted, { ...truth, cols: ['A'] })).toThrow(/truth matrix is 5×2 but has 5 row and 1 column labels/);
  });
});

describe('truthFromResultDict', () => {
  const dict = { a__x: 1, b__x: 2, self__x: 3, random__x: 0.5, a__b__x: 4, x__x: 5, a__y: 6 };

  it('keeps first-order keys, drops pseudo-sources and higher orders, NaN for missing transfers', () => {
    const g = truthFromResultDict(dict);
    expect(g.rows).toEqual(['a', 'b', 'x']);
    expect(g.cols).toEqual(['x', 'y']);
    expect(Array.from(g.matrix.data)).toEqual([1, 6, 2, Number.NaN, 5, Number.NaN]);
  });

  it('includes pseudo-sources on request, honours explicit labels and aliases', () => {
    expect(truthFromResultDict(dict, { includePseudoSources: true }).rows).toEqual(['a', 'b', 'random', 'self', 'x']);
    const g = truthFromResultDict(dict, { aliases: { x: 'X' }, sources: ['X', 'a'], targets: ['X'] });
    expect(g.rows).toEqual(['X', 'a']);
    expect(Array.from(g.matrix.data)).toEqual([5, 1]);
  });

  it('takes self__t as the diagonal where the dict has no t__t (issue 17), and keeps t__t where it has one', () => {
    // The zoo-transfer files store a target's own entry only as self__t: with --include-self the cell [t][t]
    // used to be NaN ("truth has NaN for source age → target age").
    const zoo = { self__p: 0.9, q__p: 0.2, r__p: 0.1, self__q: 0.8, p__q: 0.3, r__q: 0.4 };
    const g = truthFromResultDict(zoo);
    expect(g.rows).toEqual(['p', 'q', 'r']);
    expect(g.cols).toEqual(['p', 'q']);
    expect(Array.from(g.matrix.data)).toEqual([0.9, 0.3, 0.2, 0.8, 0.1, 0.4]);
    // x__x (5) wins over self__x (3), as before.
    expect(truthFromResultDict(dict, { sources: ['x'], targets: ['x'] }).matrix.data[0]).toBe(5);
  });

  it("scores the project's own zoo-transfer affinities with includeSelf (every diagonal cell is self__t)", async () => {
    const file = path.join(repoRoot, 'results/zoo-transfer/affinities.json');
    const aff = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
    const truth = await readLabelledMatrix(file);
    const models = truth.cols;
    for (const t of models) expect(truth.matrix.data[truth.rows.indexOf(t) * models.length + models.indexOf(t)], t).toBe(aff[`self__${t}`]);
    // The truth itself as the prediction (models only): with self included, every column correlates perfectly.
    const rows = models.map((s) => models.map((t) => truth.matrix.data[truth.rows.indexOf(s) * models.length + models.indexOf(t)]));
    const predicted: LabelledMatrix = { rows: models, cols: models, matrix: fromRows(rows) };
    const r = evaluatePrediction(predicted, truth, { includeSelf: true });
    expect(r.targets).toEqual(models);
    expect(r.mean).toBeCloseTo(1, 12);
    expect(r.unmatched.sources.truthOnly).toEqual([]); // random, self (and pixels) are never reported
  });

  it('names labels that have no first-order entry', () => {
    expect(() => truthFromResultDict(dict, { targets: ['x', 'z'] })).toThrow(/target "z" has no first-order entry \(available targets: x, y\)/);
    expect(() => truthFromResultDict({ a__b__c: 1 })).toThrow(/no first-order/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Published numbers on the real data (docs/evaluation.md#dds-taskonomy-protocol).
// ---------------------------------------------------------------------------------------------------------
const dataDir = sharedDataDir;
const ddsDir = path.join(dataDir, 'duality-diagram-similarity');
const taskonomyDir = path.join(dataDir, 'taskonomy', 'results');
const haveData = existsSync(path.join(ddsDir, 'evaluation_fixtures.json')) && existsSync(taskonomyDir);
if (!haveData) console.warn(`evaluate.test: ${dataDir} not found; skipping the checks against the published tables`);

const readJson = (file: string): any => JSON.parse(readFileSync(file, 'utf8'));

type Table = Record<string, Record<string, number>>;
const NORMS = ['None', 'centering', 'znorm', 'group_norm', 'instance_norm', 'layer_norm', 'batch_norm'];
const FUNCS = ['rbf', 'lap', 'linear', 'pearson', 'euclidean', 'cosine'];
const table = (rows: number[][]): Table => Object.fromEntries(NORMS.map((norm, i) => [norm, Object.fromEntries(FUNCS.map((f, j) => [f, rows[i][j]]))]));

// The DDS paper's Taskonomy tables as its notebook printed them (3 decimals), rows = normalisation, columns = f.
const PUBLISHED_VS_AFFINITY = table([
  [0.815, 0.819, 0.639, 0.832, 0.694, 0.75],
  [0.815, 0.819, 0.639, 0.749, 0.694, 0.74],
  [0.842, 0.86, 0.839, 0.86, 0.846, 0.862],
  [0.805, 0.821, 0.838, 0.838, 0.825, 0.838],
  [0.843, 0.839, 0.851, 0.853, 0.85, 0.853],
  [0.799, 0.815, 0.832, 0.832, 0.824, 0.832],
  [0.851, 0.854, 0.734, 0.862, 0.811, 0.852],
]);
const PUBLISHED_VS_WINRATE = table([
  [0.754, 0.766, 0.57, 0.777, 0.628, 0.678],
  [0.754, 0.766, 0.57, 0.694, 0.628, 0.682],
  [0.818, 0.827, 0.82, 0.832, 0.821, 0.838],
  [0.743, 0.767, 0.782, 0.782, 0.764, 0.782],
  [0.812, 0.813, 0.833, 0.834, 0.826, 0.834],
  [0.738, 0.762, 0.777, 0.777, 0.766, 0.777],
  [0.801, 0.817, 0.695, 0.825, 0.771, 0.818],
]);

describe.skipIf(skipWithoutSharedData)('DDS Taskonomy protocol on the authors’ matrices (docs/evaluation.md#dds-taskonomy-protocol)', () => {
  const fixtures = haveData ? readJson(path.join(ddsDir, 'evaluation_fixtures.json')) : {};
  const ddsOrder: string[] = fixtures.dds_task_order_20;
  const keys17: string[] = fixtures.taskonomy_affinity_keys_17;
  // DDS names → Taskonomy result keys; colorization, class_places, inpainting_whole fall out
  // because the protocol restricts sources and targets to the 17 keys.
  const aliases = { vanishing_point: 'vanishing_point_well_defined', segmentsemantic: 'segmentsemantic_rb' };
  const protocol = { aliases, sources: keys17, targets: keys17, includeSelf: true };
  const truthOf = (file: string) => truthFromResultDict(readJson(path.join(taskonomyDir, file)), { sources: keys17, targets: keys17 });

  /** Mean per-target Spearman of every (norm, f) DDS matrix of a feature set against a ground truth. */
  function ddsTable(dataset: string, truthMatrix: LabelledMatrix): Table {
    const out: Table = {};
    for (const file of ['kernels', 'rdms']) {
      const byF = readJson(path.join(ddsDir, 'CVPR2020_results', dataset, `${file}.json`));
      for (const f of Object.keys(byF)) {
        for (const [norm, stack] of Object.entries<number[][][]>(byF[f].cka.debiased_centered)) {
          const pred: LabelledMatrix = { rows: ddsOrder, cols: ddsOrder, matrix: fromRows(stack[0]) };
          (out[norm] ??= {})[f] = evaluatePrediction(pred, truthMatrix, protocol).mean!;
        }
      }
    }
    return out;
  }

  function expectTable(actual: Table, expected: Table): void {
    for (const norm of Object.keys(expected))
      for (const f of Object.keys(expected[norm])) {
        const v = actual[norm]?.[f];
        // published to 3 decimals: |v − printed| ≤ half a unit in the last place
        expect(Math.abs(v - expected[norm][f]), `${norm} / ${f}: ${v} vs ${expected[norm][f]}`).toBeLessThanOrEqual(5e-4 + 1e-12);
      }
  }

  it('vs all_affinities: every cell of the published table; maximum 0.8620242214532873 (znorm, cosine)', () => {
    const t = ddsTable('normcomparison_taskonomy_5000', truthOf('affinities/all_affinities.json'));
    expectTable(t, PUBLISHED_VS_AFFINITY);
    expect(t.znorm.cosine).toBeCloseTo(0.8620242214532873, 9);
    expect(Math.max(...Object.values(t).flatMap((row) => Object.values(row)))).toBe(t.znorm.cosine);
  });

  it('vs wins_vs_pixels_16k: every cell of the published table; maximum 0.8381203313797776 (znorm, cosine)', () => {
    const t = ddsTable('normcomparison_taskonomy_5000', truthOf('winrates/wins_vs_pixels_16k.json'));
    expectTable(t, PUBLISHED_VS_WINRATE);
    expect(t.znorm.cosine).toBeCloseTo(0.8381203313797776, 9);
    expect(Math.max(...Object.values(t).flatMap((row) => Object.values(row)))).toBe(t.znorm.cosine);
  });

  it('Pascal VOC and NYUv2 feature sets: the tables recomputed with scipy (evaluation_fixtures.json)', () => {
    for (const dataset of ['normcomparison_pascal_5000', 'normcomparison_nyuv2']) {
      const expected = fixtures.recomputed_taskonomy[dataset];
      expectTable(ddsTable(dataset, truthOf('affinities/all_affinities.json')), expected.vs_affinity);
      expectTable(ddsTable(dataset, truthOf('winrates/wins_vs_pixels_16k.json')), expected.vs_wins_vs_pixels_16k);
    }
  });

  it('dropping the self entry (strict variant) lowers the score, as §8.1 says it inflates ρ', () => {
    const byF = readJson(path.join(ddsDir, 'CVPR2020_results/normcomparison_taskonomy_5000/rdms.json'));
    const pred: LabelledMatrix = { rows: ddsOrder, cols: ddsOrder, matrix: fromRows(byF.cosine.cka.debiased_centered.znorm[0]) };
    const truthMatrix = truthOf('affinities/all_affinities.json');
    const strict = evaluatePrediction(pred, truthMatrix, { ...protocol, includeSelf: false });
    expect(strict.mean!).toBeLessThan(0.8620242214532873 - 0.01);
    expect(strict.targets).toHaveLength(17);
  });

  describe('one Taskonomy result file evaluated against all_affinities (17 keys)', () => {
    const transposed = (m: LabelledMatrix): LabelledMatrix => ({ rows: m.cols, cols: m.rows, matrix: transpose(m.matrix) });
    const affinity = () => truthOf('affinities/all_affinities.json');

    it('wins_vs_pixels_16k: column-wise 0.9194340578036583, row-wise 0.6765866545500134', () => {
      const wins = truthOf('winrates/wins_vs_pixels_16k.json');
      expect(evaluatePrediction(wins, affinity(), { includeSelf: true }).mean).toBeCloseTo(0.9194340578036583, 12);
      expect(evaluatePrediction(transposed(wins), transposed(affinity()), { includeSelf: true }).mean).toBeCloseTo(0.6765866545500134, 12);
    });

    it('all_affinities_16k 0.9904844290657441, all_affinities_1k 0.8885524798154556, wins_vs_pixels 0.9127913777146994', () => {
      const expected: Record<string, number> = {
        'affinities/all_affinities_16k.json': 0.9904844290657441,
        'affinities/all_affinities_1k.json': 0.8885524798154556,
        'winrates/wins_vs_pixels.json': 0.9127913777146994,
      };
      for (const [file, value] of Object.entries(expected)) {
        expect(evaluatePrediction(truthOf(file), affinity(), { includeSelf: true }).mean, file).toBeCloseTo(value, 12);
      }
    });
  });
});
