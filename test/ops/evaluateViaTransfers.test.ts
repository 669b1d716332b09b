import { describe, expect, it } from 'vitest';
import { measureViaTransfersScore } from '../../src/benchmark/taskbankEval.js';
import { fromRows } from '../../src/linalg/dense.js';
import { evaluateViaTransfers } from '../../src/ops/evaluate.js';

const tasks = ['a', 'b', 'c', 'd'];
const sim = [
  [1, 0.9, 0.2, 0.1],
  [0.9, 1, 0.3, 0.2],
  [0.2, 0.3, 1, 0.8],
  [0.1, 0.2, 0.8, 1],
];
// Measured transfers, rows = sources, cols = targets; no u → u.
const truthRows = [
  [Number.NaN, 0.5, 0.1, 0.2],
  [0.6, Number.NaN, 0.2, 0.1],
  [0.1, 0.2, Number.NaN, 0.7],
  [0.2, 0.1, 0.6, Number.NaN],
];

describe('evaluateViaTransfers (taskmap evaluate --via-transfers)', () => {
  it('scores the tasks shared by both matrices through the truth as a result dict, u → u left out where unmeasured', () => {
    const predicted = { rows: tasks, cols: tasks, matrix: fromRows(sim) };
    const truth = { rows: ['x', ...tasks], cols: tasks, matrix: fromRows([[0.3, 0.3, 0.3, 0.3], ...truthRows]) };
    const r = evaluateViaTransfers(predicted, truth);
    expect(r.tasks).toEqual(tasks);
    const dict = Object.fromEntries(tasks.flatMap((s, i) => tasks.filter((u) => u !== s).map((u) => [`${s}__${u}`, truthRows[i][tasks.indexOf(u)]])));
    const expected = measureViaTransfersScore(predicted, dict, tasks);
    expect(r.mean).toBe(expected.mean);
    expect(r.per_target).toEqual(expected.perTarget);
    expect(r.neighbours).toBe(3);
    // Aliases rename the predicted labels onto the truth's; --targets narrows the tasks.
    const renamed = { rows: ['A', 'b', 'c', 'd'], cols: ['A', 'b', 'c', 'd'], matrix: fromRows(sim) };
    expect(evaluateViaTransfers(renamed, truth, { aliases: { A: 'a' } }).per_target).toEqual(r.per_target);
    expect(evaluateViaTransfers(predicted, truth, { targets: ['a', 'b', 'c'] }).tasks).toEqual(['a', 'b', 'c']);
  });

  it('refuses an unmeasured transfer between two different tasks, and fewer than 3 shared tasks', () => {
    const predicted = { rows: tasks, cols: tasks, matrix: fromRows(sim) };
    const holes = truthRows.map((r) => [...r]);
    holes[0][1] = Number.NaN;
    expect(() => evaluateViaTransfers(predicted, { rows: tasks, cols: tasks, matrix: fromRows(holes) })).toThrow('the truth has no finite value for a → b');
    expect(() => evaluateViaTransfers(predicted, { rows: tasks, cols: tasks, matrix: fromRows(truthRows) }, { sources: ['a', 'b'] })).toThrow(
      '2 task(s) are sources and targets of both matrices',
    );
  });
});

describe('evaluateViaTransfers and labels named like Object.prototype members', () => {
  it('keeps "constructor" and "toString" as tasks, and refuses an alias that makes two labels equal', () => {
    const names = ['constructor', 'toString', 'c', 'd'];
    const predicted = { rows: names, cols: names, matrix: fromRows(sim) };
    const truth = { rows: names, cols: names, matrix: fromRows(truthRows) };
    const plain = evaluateViaTransfers({ rows: tasks, cols: tasks, matrix: fromRows(sim) }, { rows: tasks, cols: tasks, matrix: fromRows(truthRows) });
    const r = evaluateViaTransfers(predicted, truth);
    expect(r.tasks).toEqual(names);
    expect(r.mean).toBe(plain.mean);
    expect(() => evaluateViaTransfers(predicted, truth, { aliases: { c: 'd' } })).toThrow('label "d" appears twice');
  });
});
