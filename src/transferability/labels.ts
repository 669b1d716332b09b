/**
 * Target labels for the scores: encoding and the checks every score shares. Codes are 0…C−1 over the DISTINCT
 * labels (the references use C = max(y) + 1, which counts absent classes; docs/transferability.md says why we do
 * not). Every check names the input and the problem — a score never returns a silent NaN.
 */
import { firstNonFinite, type Matrix } from '../linalg/dense.js';
import type { ScoreFamily } from '../measures/scoreFamilies.js';
import type { ClassTarget, RegressionTarget, ScoreInput } from './types.js';

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Encode class labels: distinct labels in numeric order when all are numbers, else in string order. */
export function classTarget(labels: readonly (string | number)[], name = 'labels'): ClassTarget {
  if (labels.length === 0) throw new Error(`${name}: no labels`);
  const text = labels.map((l, i) => {
    const s = typeof l === 'number' ? (Number.isFinite(l) ? String(l) : '') : l.trim();
    if (s === '') throw new Error(`${name}: label ${i + 1} is ${typeof l === 'number' ? l : 'empty'}`);
    return s;
  });
  const distinct = [...new Set(text)];
  const numeric = distinct.every((s) => DECIMAL.test(s));
  distinct.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const index = new Map(distinct.map((s, k) => [s, k]));
  const codes = new Int32Array(text.length);
  const counts = new Array<number>(distinct.length).fill(0);
  text.forEach((s, i) => {
    const k = index.get(s)!;
    codes[i] = k;
    counts[k]++;
  });
  return { kind: 'class', codes, classes: distinct, counts };
}

/** Regression values: one column per target, every value finite. */
export function regressionTarget(values: readonly number[] | Matrix, name = 'targets'): RegressionTarget {
  const m: Matrix = Array.isArray(values) || !('data' in values) ? { rows: values.length, cols: 1, data: Float64Array.from(values as number[]) } : values;
  if (m.rows === 0) throw new Error(`${name}: no values`);
  const bad = firstNonFinite(m.data);
  if (bad >= 0) throw new Error(`${name}: value ${Math.floor(bad / m.cols) + 1} is ${m.data[bad]}; regression targets must be finite`);
  return { kind: 'regression', values: m };
}

function targetRows(input: ScoreInput): number {
  return input.target.kind === 'class' ? input.target.codes.length : input.target.values.rows;
}

function checkFinite(m: Matrix, what: string): void {
  if (m.data.length !== m.rows * m.cols) throw new Error(`${what}: holds ${m.data.length} values, expected ${m.rows}×${m.cols}`);
  const bad = firstNonFinite(m.data);
  if (bad >= 0) {
    const i = Math.floor(bad / m.cols);
    throw new Error(`${what}: value at image ${i + 1}, column ${bad - i * m.cols + 1} is ${m.data[bad]}; inputs must be finite`);
  }
}

/** Probabilities: non-negative rows summing to 1 (to 1e-3, which float32 softmax outputs meet). */
function checkProbabilities(p: Matrix, what: string): void {
  for (let i = 0; i < p.rows; i++) {
    let sum = 0;
    for (let j = 0; j < p.cols; j++) {
      const v = p.data[i * p.cols + j];
      if (v < 0) throw new Error(`${what}: image ${i + 1} has a negative probability (${v} in column ${j + 1}); pass softmax outputs, not logits`);
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-3) throw new Error(`${what}: the probabilities of image ${i + 1} sum to ${sum}, not 1; pass softmax outputs, not logits`);
  }
}

/**
 * The checks every score shares, against the family's requirements. Throws with a message that names `input.name`.
 * `finite` holds the matrices already scanned for NaN/Inf (a candidate's memo), which are not scanned again.
 */
export function checkScoreInput(family: ScoreFamily, input: ScoreInput, finite?: WeakSet<object>): void {
  const name = input.name ?? 'input';
  const n = targetRows(input);
  if (input.target.kind === 'regression' && !family.taskTypes.includes('regression')) {
    throw new Error(`${family.id}: ${name}: a regression target was given, but ${family.name} scores classification targets only`);
  }
  if (family.input === 'source-probabilities') {
    if (!input.probabilities) throw new Error(`${family.id}: ${name}: needs the source model's class probabilities on the target images`);
    if (input.probabilities.rows !== n) throw new Error(`${family.id}: ${name}: ${input.probabilities.rows} rows of probabilities but ${n} labels`);
    if (!finite?.has(input.probabilities)) checkFinite(input.probabilities, `${family.id}: ${name}`);
    finite?.add(input.probabilities);
    checkProbabilities(input.probabilities, `${family.id}: ${name}`);
  } else {
    if (!input.features) throw new Error(`${family.id}: ${name}: needs the candidate's features on the target images`);
    if (input.features.rows !== n) throw new Error(`${family.id}: ${name}: ${input.features.rows} images of features but ${n} labels`);
    if (input.features.cols === 0) throw new Error(`${family.id}: ${name}: the features have no columns`);
    if (!finite?.has(input.features)) checkFinite(input.features, `${family.id}: ${name}`);
    finite?.add(input.features);
  }
  if (input.target.kind === 'class') {
    const { classes, counts } = input.target;
    if (classes.length < 2) throw new Error(`${family.id}: ${name}: only one class ("${classes[0]}"); a score needs at least two`);
    const small = counts.findIndex((c) => c < family.minPerClass);
    if (small >= 0) {
      throw new Error(
        `${family.id}: ${name}: class "${classes[small]}" has ${counts[small]} image(s); ${family.name} needs at least ${family.minPerClass} per class`,
      );
    }
  }
}
