import { describe, expect, it } from 'vitest';
import { measureTransfers, type SourceGram, type TaskOutputs } from '../../src/benchmark/readout.js';
import { affinityTruth, defaultZooTransferMeasures, outputReduction, MAX_OUTPUT_DIMS } from '../../src/benchmark/zooTransfer.js';
import { describeMeasure, standardMeasureIds, standardPairwiseIds } from '../../src/measures/registry.js';
import { matrixHeatmapSvg } from '../../src/report/zooTransfer.js';
import { evaluatePrediction } from '../../src/evaluate/evaluate.js';
import type { Matrix } from '../../src/linalg/dense.js';
import { mulberry32 } from '../../src/linalg/resample.js';
import { ahpAffinities } from '../../src/taskonomy/ahp.js';
import { gainAndQuality, tournamentsFromLosses } from '../../src/taskonomy/winrates.js';
import { naiveGram } from '../helpers/naive.js';

function randn(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

describe('default measures', () => {
  it('every standard batched and pairwise setting, except permutation / soft matching over features (their channel settings stay)', () => {
    const ids = defaultZooTransferMeasures();
    for (const id of standardMeasureIds()) expect(ids).toContain(id);
    for (const id of standardPairwiseIds()) expect(ids.includes(id), id).toBe(id !== 'permutation' && id !== 'softmatch');
    expect(ids).toContain('permutation:units=channels');
    expect(ids).toContain('softmatch:units=channels,spatial=mean');
    expect(ids.filter((id) => describeMeasure(id).config.family === 'pairwise').length).toBeGreaterThan(15);
  });
});

describe('output reductions', () => {
  it('keeps small outputs, pools maps, projects long vectors', () => {
    expect(outputReduction([7], true)).toEqual({ kind: 'none' });
    expect(outputReduction([256, 256, 1], true)).toEqual({ kind: 'pool', k: 8 });
    expect(outputReduction([1, 320, 320], false)).toEqual({ kind: 'pool', k: 8 });
    expect(outputReduction([64, 64, 39], true)).toEqual({ kind: 'pool', k: 2 });
    expect(outputReduction([20, 20, 200], true)).toEqual({ kind: 'gap' });
    expect(outputReduction([1404], true)).toEqual({ kind: 'proj', d: MAX_OUTPUT_DIMS, seed: 0 });
    expect(outputReduction([40, 6625], false)).toEqual({ kind: 'proj', d: MAX_OUTPUT_DIMS, seed: 0 });
  });
});

describe('zoo-transfer glue on a synthetic zoo', () => {
  // Three "networks" a, b, c with features built from a shared latent; task t's outputs are a linear map of its
  // own features. a and b share most of their latent, c shares none of it with a: the known best source for a is b.
  const n = 80;
  const r = mulberry32(21);
  const latent = Array.from({ length: 3 }, () => Float64Array.from({ length: n * 3 }, () => randn(r)));
  const feats = (mix: number[], noise: number): Matrix => {
    const data = new Float64Array(n * 12);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < 12; c++) {
        let v = noise * randn(r);
        mix.forEach((w, k) => (v += w * latent[k][i * 3 + (c % 3)] * (1 + c / 12)));
        data[i * 12 + c] = v;
      }
    return { rows: n, cols: 12, data };
  };
  const f = { a: feats([1, 0.2, 0], 0.05), b: feats([0.9, 0.3, 0], 0.2), c: feats([0, 0, 1], 0.05) };
  const outputs = (x: Matrix): Matrix => {
    const y = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) {
      y[i * 2] = x.data[i * 12] + 0.5 * x.data[i * 12 + 1];
      y[i * 2 + 1] = x.data[i * 12 + 2] - x.data[i * 12 + 4];
    }
    return { rows: n, cols: 2, data: y };
  };
  const tasks: TaskOutputs[] = (['a', 'b', 'c'] as const).map((name) => ({ name, y: outputs(f[name]) }));
  const pixels = { rows: n, cols: 5, data: Float64Array.from({ length: n * 5 }, () => randn(r)) };
  const sources: SourceGram[] = [
    ...(['a', 'b', 'c'] as const).map((name) => ({ name, gram: naiveGram(f[name]) })),
    { name: 'pixels', gram: naiveGram(pixels) },
  ];
  const measured = measureTransfers(sources, tasks, { folds: 5, seed: 2 });
  const tournaments = tournamentsFromLosses(measured.records);
  const { affinities } = ahpAffinities(tournaments);

  it('the known best source wins the tournament and gets the larger affinity', () => {
    expect(affinities.b__a).toBeGreaterThan(affinities.c__a);
    expect(affinities.a__b).toBeGreaterThan(affinities.c__b);
    expect(affinities.self__a).toBeGreaterThan(affinities.c__a);
    expect(affinities.pixels__a).toBeUndefined(); // pixels is a baseline, not an AHP candidate
    const gq = gainAndQuality(tournaments);
    expect(gq.winsVsPixels.b__a).toBeGreaterThan(0.8);
    expect(gq.winsVsTask.self__a).toBe(0.5);
  });

  it('builds the DDS truth matrix with self on the diagonal, and a perfect prediction scores 1', () => {
    const truth = affinityTruth(affinities, ['a', 'b', 'c']);
    expect(truth.matrix.data[0]).toBe(affinities.self__a);
    expect(truth.matrix.data[1 * 3 + 0]).toBe(affinities.b__a); // row = source b, column = target a
    const perfect = evaluatePrediction(truth, truth, { includeSelf: true });
    expect(perfect.mean).toBeCloseTo(1, 12);
    expect(() => affinityTruth(affinities, ['a', 'zz'])).toThrow(/no "/);
  });

  it('draws the affinity heatmap with a cell per pair', () => {
    const svg = matrixHeatmapSvg('t', ['a', 'b', 'c'], ['a', 'b', 'c', 'self'], (t, s) => affinities[`${s === t ? 'self' : s}__${t}`]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<rect x=/g)).toHaveLength(12);
  });
});
