/**
 * Label-based transferability scores (src/transferability) as ranking columns: every candidate scored against the
 * target labels on all images and on the bootstrap draws, with the scores of one candidate sharing its memo.
 *
 * Two modes. Strict (one `--measure`): any problem is an error. Lenient (`--measure all`, the score table): a
 * candidate that cannot be scored — no class probabilities for LEEP / NCE, a failed input check — gets no value
 * and a reason, so the table shows a blank cell with a note instead of dropping the candidate.
 *
 * Bootstrap draws use the subsets the representation measures use (the caller passes them), and each draw is
 * scored on its own images and labels. A draw in which some class of the target has fewer images than a score
 * needs (at least one: a score over fewer classes is a different score) is skipped for that score and counted,
 * not an error: small subsets of many classes hit this by chance.
 */
import { checkImageIds } from '../features/imageIdentity.js';
import type { Representation } from '../features/types.js';
import type { Matrix } from '../linalg/dense.js';
import type { GemmEngine } from '../linalg/gemm.js';
import { findScoreFamily, parseScore, SCORE_FAMILIES, scoreId, type ScoreFamily } from '../measures/scoreFamilies.js';
import { classTarget, type ClassTarget, type ScoreInput, type ScoreTarget } from '../transferability/index.js';
import { scoreCandidates, scoreThreads } from '../transferability/threads.js';

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * One image's label: a class or a regression value (a string as read from a labels file, or a number), or a vector
 * of regression values (a dense target — a depth map, a keypoint heat-map — flattened: a .npy target read as
 * labels).
 */
export type LabelValue = string | number | ArrayLike<number>;

/** The labels as class labels: every one a string or a number; a vector of values is refused, naming its image. */
export function scalarLabels(labels: readonly LabelValue[], name: string): readonly (string | number)[] {
  const i = labels.findIndex((l) => typeof l === 'object');
  if (i >= 0) {
    throw new Error(
      `${name}: image ${i}'s label is a vector of ${(labels[i] as ArrayLike<number>).length} values; class labels are one per image (read vectors as regression targets)`,
    );
  }
  return labels as readonly (string | number)[];
}

/**
 * Regression values from labels, n × K: one value per image (K = 1; plain decimals only — Number() would also take
 * "", "0x1f" and "Infinity") or a vector of K finite values per image; not the same values on every image.
 */
export function regressionValues(labels: readonly LabelValue[], name: string): Matrix {
  const n = labels.length;
  const first = labels[0];
  const k = typeof first === 'object' ? first.length : 1;
  if (k < 1) throw new Error(`${name}: image 0 has an empty vector of regression values`);
  const data = new Float64Array(n * k);
  labels.forEach((l, i) => {
    if (typeof l === 'object') {
      if (l.length !== k) throw new Error(`${name}: image ${i} has ${l.length} regression values, image 0 has ${k}`);
      for (let j = 0; j < k; j++) {
        const x = l[j];
        if (!Number.isFinite(x)) throw new Error(`${name}: regression value ${j} of image ${i} is ${x}, not a finite number`);
        data[i * k + j] = x;
      }
      return;
    }
    if (k !== 1) throw new Error(`${name}: image ${i} has one regression value, image 0 has ${k}`);
    const x = typeof l === 'number' ? l : typeof l === 'string' && DECIMAL.test(l.trim()) ? Number(l) : Number.NaN;
    if (!Number.isFinite(x)) throw new Error(`${name}: regression target of image ${i} is "${String(l)}", not a finite number`);
    data[i] = x;
  });
  if (data.every((x, q) => x === data[q % k])) {
    throw new Error(
      k === 1
        ? `${name}: all ${n} regression values are equal (${data[0]}), so the target has no structure to rank sources by`
        : `${name}: all ${n} images have the same ${k} regression values, so the target has no structure to rank sources by`,
    );
  }
  return { rows: n, cols: k, data };
}

/** The scores' target from one label per image: class codes over the distinct labels, or regression values (n × K). */
export function scoreTargetOf(labels: readonly LabelValue[], kind: 'class' | 'regression', name: string): ScoreTarget {
  if (kind === 'regression') return { kind: 'regression', values: regressionValues(labels, name) };
  const t = classTarget(scalarLabels(labels, name), name);
  if (t.classes.length < 2) {
    throw new Error(`${name}: all ${labels.length} images have the same class ("${t.classes[0]}"); a class target needs at least two classes`);
  }
  return t;
}

/** Whether an id names a label-based score of the catalogue (rather than a representation measure). */
export function isScoreId(id: string): boolean {
  const colon = id.indexOf(':');
  return findScoreFamily((colon < 0 ? id : id.slice(0, colon)).trim()) !== undefined;
}

/** Canonical id and family of a score id (throws with the parser's message). */
export function scoreOf(id: string): { id: string; family: ScoreFamily } {
  const config = parseScore(id);
  return { id: scoreId(config), family: findScoreFamily(config.family)! };
}

/** Why a family cannot score a target as a whole (task type, class sizes on all images), or undefined. */
export function targetProblem(family: ScoreFamily, target: ScoreTarget, name: string): string | undefined {
  if (target.kind === 'regression') {
    return family.taskTypes.includes('regression')
      ? undefined
      : `${family.id}: ${name} is a regression target, but ${family.name} scores classification targets only ` +
          `(scores for regression: ${SCORE_FAMILIES.filter((f) => f.taskTypes.includes('regression'))
            .map((f) => f.id)
            .join(', ')})`;
  }
  const small = target.counts.findIndex((c) => c < family.minPerClass);
  if (small < 0) return undefined;
  return `${family.id}: ${name}: class "${target.classes[small]}" has ${target.counts[small]} image(s); ${family.name} needs at least ${family.minPerClass} per class`;
}

/**
 * Which probabilities member belongs to a candidate. For candidate `model<sep>layer` (or plain `model`), in order:
 * the member labelled exactly like the candidate; else the member labelled `model`; else the one member whose own
 * label is `model<sep>…` (two such members are ambiguous: an error). Class probabilities are a property of the
 * source model, not of a layer, so one `model` member serves every layer of that model.
 */
/** The model part of a member label: before the first `separator` (the whole label without one, or when it is empty). */
export function modelOfLabel(label: string, separator = '/'): string {
  const at = separator ? label.indexOf(separator) : -1;
  return at < 0 ? label : label.slice(0, at);
}

export function matchProbabilities(
  candidates: readonly { label: string }[],
  probabilities: readonly Representation[],
  separator = '/',
): Map<string, Representation> {
  const modelOf = (label: string) => modelOfLabel(label, separator);
  const byLabel = new Map(probabilities.map((p) => [p.label, p]));
  const out = new Map<string, Representation>();
  for (const c of candidates) {
    const model = modelOf(c.label);
    let p = byLabel.get(c.label) ?? byLabel.get(model);
    if (!p) {
      const same = probabilities.filter((q) => modelOf(q.label) === model);
      if (same.length > 1) {
        throw new Error(
          `probabilities: ${same.map((q) => `"${q.label}"`).join(' and ')} could both be the class probabilities of "${c.label}"; ` +
            `name the member "${model}" or "${c.label}"`,
        );
      }
      p = same[0];
    }
    if (p) out.set(c.label, p);
  }
  return out;
}

/** The rows `idx` (all when absent) of an n×p row-major array as a float64 matrix. */
function rowsOf({ n, p, data }: { n: number; p: number; data: Float32Array | Float64Array }, idx?: Uint32Array): Matrix {
  if (!idx) return { rows: n, cols: p, data: data instanceof Float64Array ? data : Float64Array.from(data) };
  const out = new Float64Array(idx.length * p);
  for (let k = 0; k < idx.length; k++) out.set(data.subarray(idx[k] * p, (idx[k] + 1) * p), k * p);
  return { rows: idx.length, cols: p, data: out };
}

/** The target on the images `idx`; class targets keep every class of the full target (the draw has them all). */
function subsetTarget(t: ScoreTarget, idx: Uint32Array): ScoreTarget {
  if (t.kind === 'regression') return { kind: 'regression', values: rowsOf({ n: t.values.rows, p: t.values.cols, data: t.values.data }, idx) };
  const codes = Int32Array.from(idx, (i) => t.codes[i]);
  const counts = new Array<number>(t.classes.length).fill(0);
  for (const c of codes) counts[c]++;
  return { kind: 'class', codes, classes: t.classes, counts };
}

/** Why a draw is skipped for a family: a class of the full target below the family's minimum (at least 1) in it. */
function drawShortfall(t: ScoreTarget, family: ScoreFamily): string | undefined {
  if (t.kind !== 'class') return undefined;
  const min = Math.max(1, family.minPerClass);
  const small = (t as ClassTarget).counts.findIndex((c) => c < min);
  if (small < 0) return undefined;
  return min === 1
    ? `class "${t.classes[small]}" has no image in the draw`
    : `class "${t.classes[small]}" has fewer than ${min} images in the draw (${family.name} needs ${min} per class)`;
}

export interface ScoreColumn {
  /** Canonical id. */
  id: string;
  family: ScoreFamily;
  /** Per candidate (pool order): the score on all images, or null when it could not be scored (lenient mode). */
  full: (number | null)[];
  /** Why a candidate has no score (null where it has one). */
  missing: (string | null)[];
  /** Draws × candidates, NaN where not scored (skipped draws, candidates without a score). */
  draws: Float64Array | undefined;
  /** Skipped draws (0-based) and why. */
  skipped: Map<number, string>;
  /** Summed scorer time, ms: on all images, and over the draws. */
  ms: number;
  drawsMs: number;
}

export interface ScoreColumnsOptions {
  /** Score ids (any form; canonicalised). */
  ids: readonly string[];
  /** The target: codes or regression values on all images. */
  target: ScoreTarget;
  /** How errors name the target (the labels file). */
  targetName: string;
  /** The source models' class probabilities, matched to candidates (matchProbabilities), for LEEP and NCE. */
  probabilities?: Map<string, Representation>;
  /** Bootstrap image subsets (bootstrapSubsets); none for scores on all images only. */
  subsets: readonly Uint32Array[];
  /** How a draw is named in errors, e.g. "bootstrap draw 3 of 100 (seed 1993, 50 images)". */
  drawName: (d: number) => string;
  /** Throw on any problem (a single measure) instead of recording it (the table). */
  strict: boolean;
  engine: GemmEngine;
  /** Worker threads for the scoring (default: scoreThreads — every core for large inputs, else this thread). */
  threads?: number;
  /** After all images, and after each draw. */
  onStep?: (done: number, total: number) => void;
}

/** Score every candidate with every id, on all images and on every draw. */
export async function scoreColumns(pool: readonly Representation[], o: ScoreColumnsOptions): Promise<ScoreColumn[]> {
  const m = pool.length;
  const draws = o.subsets.length;
  const cols: ScoreColumn[] = o.ids.map((raw) => {
    const { id, family } = scoreOf(raw);
    return {
      id,
      family,
      full: new Array<number | null>(m).fill(null),
      missing: new Array<string | null>(m).fill(null),
      draws: draws > 0 ? new Float64Array(draws * m).fill(Number.NaN) : undefined,
      skipped: new Map(),
      ms: 0,
      drawsMs: 0,
    };
  });
  const fail = (col: ScoreColumn, k: number, message: string) => {
    if (o.strict) throw new Error(message);
    col.missing[k] = message;
  };
  // Problems of the target as a whole, and probabilities that cannot be paired with their candidate's images.
  const whole = cols.map((c) => targetProblem(c.family, o.target, o.targetName));
  whole.forEach((problem, j) => {
    if (problem !== undefined) for (let k = 0; k < m; k++) fail(cols[j], k, problem);
  });
  const probs = pool.map((c) => o.probabilities?.get(c.label));
  pool.forEach((c, k) => {
    const p = probs[k];
    if (!p) return;
    if (p.n !== c.n)
      throw new Error(`probabilities ${p.source}: ${p.n} images, but candidate "${c.label}" has ${c.n}; both must be on the target images, in order`);
    checkImageIds([c, p], `class probabilities of "${c.label}"`);
  });

  /** Candidate k's input of one kind on the images idx (all when absent). */
  const inputOf = (k: number, kind: 'features' | 'probabilities', idx?: Uint32Array): ScoreInput => {
    const target = idx ? subsetTarget(o.target, idx) : o.target;
    const c = pool[k];
    if (kind === 'features') return { features: rowsOf(c, idx), target, name: c.label };
    const p = probs[k]!;
    return { probabilities: rowsOf(p, idx), target, name: `${c.label} (class probabilities ${p.source})` };
  };
  // The table's note lists the candidates; a single measure's error names the one it stopped at.
  const noProbabilities = (col: ScoreColumn, label: string) =>
    o.strict
      ? `${col.id}: no class probabilities for candidate "${label}": ${col.family.name} scores the source model's softmax outputs on the target ` +
        'images (give them as a feature set with a member named like the candidate or its model)'
      : "no class probabilities (the source model's softmax outputs on the target images; give them as a feature set with a member named like the candidate or its model)";

  // Scoring work, one task per candidate, input kind and image set (all images, or a draw): every score of the
  // task shares one memo, as on one thread. Tasks run on worker threads when the inputs are large enough
  // (scoreThreads); results are applied in task order, so messages, skips and values are those of one thread.
  type Task = { k: number; kind: 'features' | 'probabilities'; cols: ScoreColumn[]; d?: number };
  const kindOf = (col: ScoreColumn) => (col.family.input === 'source-probabilities' ? 'probabilities' : 'features');
  const tasksFor = (k: number, live: ScoreColumn[], d?: number): Task[] =>
    (['features', 'probabilities'] as const)
      .map((kind) => ({ k, kind, cols: live.filter((c) => kindOf(c) === kind), ...(d === undefined ? {} : { d }) }))
      .filter((t) => t.cols.length > 0);
  const run = async (tasks: Task[], rows: number, fresh: boolean, onDone?: (t: number) => void) => {
    const work = tasks.reduce((a, t) => a + rows * pool[t.k].p, 0);
    return scoreCandidates(
      (t) => tasks[t].cols.map((c) => c.id),
      tasks.length,
      (t) => inputOf(tasks[t].k, tasks[t].kind, tasks[t].d === undefined ? undefined : o.subsets[tasks[t].d!]),
      { threads: scoreThreads(tasks.length, work, o.threads), engine: o.engine, onError: 'record', transfer: fresh, onDone },
    );
  };

  // All images.
  const allTasks: Task[] = [];
  const live = cols.filter((_, j) => whole[j] === undefined);
  for (let k = 0; k < m; k++) {
    for (const col of live) if (kindOf(col) === 'probabilities' && !probs[k]) fail(col, k, noProbabilities(col, pool[k].label));
    allTasks.push(
      ...tasksFor(
        k,
        live.filter((c) => kindOf(c) === 'features' || probs[k]),
      ),
    );
  }
  const allResults = await run(allTasks, pool[0]?.n ?? 0, false);
  allTasks.forEach((t, i) =>
    allResults[i].forEach((r, j) => {
      const col = t.cols[j];
      if ('error' in r) fail(col, t.k, r.error);
      else {
        col.full[t.k] = r.value;
        col.ms += r.ms;
      }
    }),
  );
  o.onStep?.(0, draws);

  // The draws: a class short of a score's minimum skips the draw for that score before any work.
  const drawTasks: Task[] = [];
  for (let d = 0; d < draws; d++) {
    const sub = subsetTarget(o.target, o.subsets[d]);
    for (const col of cols) {
      const why = drawShortfall(sub, col.family);
      if (why !== undefined) col.skipped.set(d, why);
    }
    for (let k = 0; k < m; k++)
      drawTasks.push(
        ...tasksFor(
          k,
          cols.filter((c) => c.full[k] !== null && !c.skipped.has(d)),
          d,
        ),
      );
  }
  // Progress: draws whose tasks have all finished, counted in draw order (tasks finish out of order on threads).
  const left = new Int32Array(draws);
  for (const t of drawTasks) left[t.d!]++;
  let reported = 0;
  const advance = () => {
    for (; reported < draws && left[reported] === 0; reported++) o.onStep?.(reported + 1, draws);
  };
  // Draw inputs are fresh copies made for this call: handed to the workers, not copied again.
  const drawResults = await run(drawTasks, o.subsets[0]?.length ?? 0, true, (t) => {
    left[drawTasks[t].d!]--;
    advance();
  });
  advance();
  drawTasks.forEach((t, i) => {
    const d = t.d!;
    drawResults[i].forEach((r, j) => {
      const col = t.cols[j];
      if ('error' in r) {
        if (o.strict) throw new Error(`${o.drawName(d)}: ${r.error}`);
        // One candidate that cannot be scored on this draw leaves the draw incomparable for this score.
        if (!col.skipped.has(d)) col.skipped.set(d, r.error);
      } else {
        col.draws![d * m + t.k] = r.value;
        col.drawsMs += r.ms;
      }
    });
  });
  // A skipped draw has no scores at all, whichever candidate caused it.
  for (const col of cols) for (const d of col.skipped.keys()) col.draws!.fill(Number.NaN, d * m, (d + 1) * m);
  return cols;
}
