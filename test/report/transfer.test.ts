import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateTransfer, type TransferTask } from '../../src/benchmark/transferEval.js';
import { mulberry32 } from '../../src/linalg/resample.js';
import type { TransferBenchmarkResult } from '../../src/benchmark/transfer.js';
import { summaryTable, transferMarkdown, truthTable, verdict, writeTransferReport } from '../../src/report/transfer.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function task(id: string, seed: number): TransferTask {
  const n = 45;
  const labels = [...Array(n).keys()].map((i) => ['x', 'y', 'z'][i % 3]);
  const random = mulberry32(seed);
  const candidates = [0.1, 1, 4].map((noise, k) => {
    const d = 4;
    const data = new Float64Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = (j === i % 3 ? 1 : 0) + noise * (random() - 0.5);
    return { label: `s${k}`, features: { rows: n, cols: d, data } };
  });
  return { id, labels, candidates, truth: { logistic: [0.9, 0.7, 0.4], mlp: [0.92, 0.75, 0.3] } };
}

describe('transfer report', () => {
  it('writes the tables, a verdict from the numbers, JSON and figures', async () => {
    const tasks = [task('t1', 1), task('t2', 2)];
    const evaluation = await evaluateTransfer(tasks, { measures: ['cka', 'rsa'], perClass: [5], draws: 3, seed: 4, resamples: 50 });
    const out = await mkdtemp(join(tmpdir(), 'taskmap-transfer-report-'));
    dirs.push(out);
    const result: TransferBenchmarkResult = {
      out,
      command: 'taskmap benchmark transfer --test',
      created: '2026-12-05',
      sources: ['s0', 's1', 's2'].map((id) => ({ id, dims: 4, classes: null })),
      targets: ['t1', 't2'].map((id) => ({ id, dataset: 'toy', description: 'planted', classes: ['x', 'y', 'z'], train: 45, test: 0 })),
      heads: { logistic: 'L2 logistic', mlp: 'one hidden layer' },
      truth: { logistic: { t1: { s0: 0.9, s1: 0.7, s2: 0.4 }, t2: { s0: 0.9, s1: 0.7, s2: 0.4 } } },
      truthRecords: [],
      evaluation,
      layerStudies: [],
      timings: { scores: 1.5 },
      notes: ['a note'],
    };
    const t = summaryTable(evaluation, 5);
    expect(t.head[1]).toBe('weighted τ (logistic) [95% CI]');
    expect(t.head).toContain('weighted τ (mlp)');
    // CKA orders the three planted sources exactly on every draw: weighted τ 1 with a zero-width interval.
    expect(t.rows[0].slice(0, 2)).toEqual(['cka', '1.000 [1.000, 1.000]']);
    expect(verdict(evaluation, 5, 'logistic')).toMatch(/^At 5 images per class \(logistic head\), cka predicts/);
    expect(truthTable(result.truth, 'logistic', ['t1'], ['s0', 's1']).rows).toEqual([
      ['s0', '90.0 ★'],
      ['s1', '70.0'],
    ]);
    const written = await writeTransferReport(result);
    expect(written.sort()).toEqual(['figures/weighted-tau-5.png', 'figures/weighted-tau-5.svg', 'report.md', 'transfer.json']);
    const md = await readFile(join(out, 'report.md'), 'utf8');
    expect(md).toBe(transferMarkdown(result));
    expect(md).toContain('Reproduce: `taskmap benchmark transfer --test`');
    expect(md).toContain('- a note');
    const json = JSON.parse(await readFile(join(out, 'transfer.json'), 'utf8'));
    expect(json.evaluation.records).toHaveLength(2 * 3 * 2);
    const png = await readFile(join(out, 'figures/weighted-tau-5.png'));
    expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');
  });
});
