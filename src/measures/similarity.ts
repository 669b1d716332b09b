/**
 * Similarity between representations for any registered measure. Each model is reduced once to its prepared
 * comparator vector (normalise → n×n matrix → centre → rank/normalise), then all pairs come from ONE matrix
 * product of those vectors — never M² independent pair computations from features (docs/measures.md#batched-computation).
 * Pairwise families (pairwise.ts: Procrustes, CCA, …) have no such vector: each model is still prepared once, then
 * each pair is compared on its own, the upper triangle only when the family is symmetric.
 */
import type { FeatureSet, FeatureSetReopen, FeatureSetSource, Representation, RepresentationInfo } from '../features/types.js';
import type { ReadBuffer } from '../io/input.js';
import { checkImageIds } from '../features/imageIdentity.js';
import { firstNonFinite, zeros, type Matrix } from '../linalg/dense.js';
import { getGemmEngine, type GemmEngine, type Precision } from '../linalg/gemm.js';
import type { LabelledMatrix } from '../linalg/labelled.js';
import { checkAllocation } from '../io/limits.js';
import { formatCount } from '../io/npy.js';
import { centerMatrix, maxAbs, prepareForComparator, preparedLength, type Prepared } from './compare.js';
import { kernelMatrix, rdmMatrix, type FeatureMatrix } from './kernels.js';
import { comparisonBytes, preparedValues, squareStageBytes, streamsMember } from './prepareMemory.js';
import { streamedMatrix } from './streamedMatrix.js';
import { normalizeFeatures } from './normalize.js';
import { triangleCorrelation } from './rdmComparators.js';
import { comparePairs, pairsInParallel, shareArrays } from './pairThreads.js';
import { byParams, pairwiseCacheKey, type PairwiseContext, type PairwiseFamily, type PairwiseParams, type PairwisePrepared } from './pairwise.js';
import {
  isPairwise,
  measureId,
  pairwiseFamilyOf,
  parseMeasure,
  pipelineOf,
  type MeasureConfig,
  type PairwiseMeasureConfig,
  type Pipeline,
} from './registry.js';
import { drawThreads } from './subsetDraws.js';
import { prepareOnThreads, prepareThreads } from './prepareThreads.js';

export interface SimilarityOptions {
  engine?: GemmEngine;
  /** GEMM precision for the n×n matrices (default float64; float32 is ~2× faster and good to ~1e-6). */
  precision?: Precision;
  /**
   * Called after each model is prepared: (done, total, label). A pairwise family then also reports each pair compared,
   * with total = models + pairs and the label `a × b`.
   */
  onProgress?: (done: number, total: number, label: string) => void;
  /** Reuse prepared vectors across calls (e.g. a server or an evaluation sweep over the same models). */
  cache?: PreparedCache;
  /**
   * Threads, this one included (default: TASKMAP_THREADS, else 1), for the pairs of a pairwise family — fewer than
   * MIN_PARALLEL_PAIRS pairs, or a GEMM engine only this thread has, stay on this thread (pairThreads.ts) — or for
   * preparing the members of a batched measure when they are files each thread can read (prepareThreads.ts).
   */
  threads?: number;
}

/** Prepared vectors (or pairwise prepared forms) per representation and pipeline; entries die with their representation. */
export class PreparedCache {
  private map = new WeakMap<RepresentationInfo, Map<string, Prepared | PairwisePrepared>>();
  get(rep: RepresentationInfo, key: string): Prepared | undefined {
    const v = this.map.get(rep)?.get(key);
    return v?.kind === 'pairwise' ? undefined : v;
  }
  /** A pairwise family's prepared form (keys from pairwiseCacheKey). */
  getPairwise(rep: RepresentationInfo, key: string): PairwisePrepared | undefined {
    const v = this.map.get(rep)?.get(key);
    return v?.kind === 'pairwise' ? v : undefined;
  }
  set(rep: RepresentationInfo, key: string, value: Prepared | PairwisePrepared): void {
    let m = this.map.get(rep);
    if (!m) this.map.set(rep, (m = new Map()));
    m.set(key, value);
  }
}

type Resolved = { id: string } & (
  { pairwise: false; config: MeasureConfig; pipeline: Pipeline } | { pairwise: true; config: PairwiseMeasureConfig; family: PairwiseFamily }
);

function resolve(measure: string | MeasureConfig): Resolved {
  const config = typeof measure === 'string' ? parseMeasure(measure) : measure;
  const id = measureId(config);
  if (isPairwise(config)) return { id, pairwise: true, config, family: pairwiseFamilyOf(config) };
  return { id, pairwise: false, config, pipeline: pipelineOf(config) };
}

/**
 * Reduce one representation to its comparator form for a pipeline. `scratch` (n·p long), when given, holds the
 * normalised features instead of a fresh array: callers preparing many members reuse one, because first-touching a
 * fresh multi-megabyte array costs a page fault per 4 KiB (most of the system time of a whole-process run).
 */
export async function prepareRepresentation(
  rep: Representation,
  pipeline: Pipeline,
  opts: SimilarityOptions = {},
  scratch?: Float64Array,
  into?: Float64Array,
): Promise<Prepared> {
  try {
    return await prepareOne(rep, pipeline, opts, scratch, into);
  } catch (e) {
    // Measure errors name the member by label; say which file that is when it is not obvious.
    if (e instanceof Error && rep.source !== rep.label && !e.message.includes(rep.source)) e.message = `${rep.source}: ${e.message}`;
    throw e;
  }
}

/**
 * prepareRepresentation with one normalisation scratch kept across calls: a thread preparing many members one after
 * the other (prepareAll, a worker's share in prepareThreads) touches that memory once, not once per member.
 */
export function memberPreparer(pipeline: Pipeline, opts: SimilarityOptions): (rep: Representation, into?: Float64Array) => Promise<Prepared> {
  let scratch: Float64Array | undefined;
  return (rep, into) => {
    const size = rep.n * rep.p;
    if (!scratch || scratch.length < size) scratch = new Float64Array(size);
    return prepareRepresentation(rep, pipeline, opts, scratch.subarray(0, size), into);
  };
}

async function prepareOne(rep: Representation, pipeline: Pipeline, opts: SimilarityOptions, scratch?: Float64Array, into?: Float64Array): Promise<Prepared> {
  const x: FeatureMatrix = {
    label: rep.label,
    n: rep.n,
    p: rep.p,
    data: normalizeFeatures(rep, pipeline.norm, { shape: pipeline.shape, layout: pipeline.layout, groups: pipeline.groups }, scratch),
  };
  const gemm = { engine: opts.engine, precision: opts.precision };
  const k =
    pipeline.matrix.type === 'kernel'
      ? await kernelMatrix(x, pipeline.matrix.kernel, { ...gemm, t: pipeline.t })
      : await rdmMatrix(x, pipeline.matrix.distance, gemm);
  return prepareMatrix(k, pipeline, rep.label, into);
}

/** A member's n×n matrix → its comparator form. */
function prepareMatrix(k: Matrix, pipeline: Pipeline, label: string, into?: Float64Array): Prepared {
  // k is this call's scratch (n² doubles, 200 MB at n = 5000): centre it in place rather than copy it.
  const scale = maxAbs(k.data);
  return prepareForComparator(centerMatrix(k, pipeline.centering, label, true), pipeline.compare, label, scale, into);
}

/** How the members appear in a memory refusal: the file they share (an .npz, a folder) or the first few. */
function describeSet(reps: readonly RepresentationInfo[]): string {
  const files = [...new Set(reps.map((r) => r.source.replace(/:[^/:]*$/, '')))];
  if (files.length === 1 && reps.length > 1) return `${files[0]} (${reps.length} members)`;
  const dirs = [...new Set(files.map((f) => f.replace(/\/[^/]*$/, '')))];
  if (dirs.length === 1 && files.length > 1 && dirs[0] !== files[0]) return `${dirs[0]} (${reps.length} members)`;
  const shown = reps
    .slice(0, 3)
    .map((r) => r.source)
    .join(', ');
  return reps.length > 3 ? `${shown} and ${reps.length - 3} more members` : shown;
}

/**
 * Refuse before any work when the n×n stage would not fit the memory budget: every member keeps its prepared
 * vector, preparing one member needs its n×n matrix and its comparator's scratch, and vectors not prepared into one
 * block are stacked once more for the comparison (prepareMemory.ts counts each).
 */
function checkPairwiseMemory(reps: readonly RepresentationInfo[], n: number, pipeline: Pipeline): void {
  const bytes = 8 * reps.length * preparedValues(n, pipeline.compare) + squareStageBytes(n, pipeline) + comparisonBytes(reps.length, n, pipeline.compare);
  checkAllocation(
    `comparing ${reps.length} member${reps.length === 1 ? '' : 's'} on ${formatCount(n)} images (n×n matrices per member)`,
    bytes,
    describeSet(reps),
  );
}

function checkSameImages(reps: readonly RepresentationInfo[]): number {
  if (reps.length === 0) throw new Error('no representations to compare');
  const n = reps[0].n;
  const bad = reps.filter((r) => r.n !== n);
  if (bad.length) {
    throw new Error(
      `all representations must be computed on the same images: ${reps[0].label} has ${n} images but ` + bad.map((r) => `${r.label} has ${r.n}`).join(', '),
    );
  }
  checkImageIds(reps);
  return n;
}

/**
 * The PreparedCache key of a representation's prepared form for a canonical measure id and GEMM precision; exported
 * so a caller can seed the cache with a form it knows exactly (e.g. a label RDM without rounding noise).
 */
export function preparedCacheKey(id: string, precision: Precision = 'float64'): string {
  return `${id}|${precision}`;
}

/**
 * Every member's prepared form. `load(i)` gives member i's values; a source that reads them into `buffer` (a
 * FeatureSetSource) overwrites the previous member's, which is fine: each member is reduced before the next is read.
 */
async function prepareAll(
  members: readonly RepresentationInfo[],
  load: (i: number, buffer: ReadBuffer) => Representation | Promise<Representation>,
  id: string,
  pipeline: Pipeline,
  opts: SimilarityOptions,
  reopen?: FeatureSetReopen,
  file?: FeatureSetSource['file'],
): Promise<Prepared[]> {
  const out: Prepared[] = [];
  const key = preparedCacheKey(id, opts.precision);
  // A member too big to load within the memory budget: its n×n matrix from column blocks of its .npy (streamedMatrix.ts).
  const streamed = members.map((m, i) => {
    const path = file?.(i);
    return path && streamsMember(path, m.n, m.p, pipeline) ? path : undefined;
  });
  const hits = members.map((m) => opts.cache?.get(m, key));
  // One block for all the prepared vectors, which the comparison then takes as its stacked operand without a copy.
  const length = members.length > 1 && hits.every((h) => !h) ? preparedLength(pipeline.compare, members[0].n) : undefined;
  if (length !== undefined && reopen && members.every((m) => m.n === members[0].n) && !streamed.some(Boolean)) {
    const threads = prepareThreads(
      members.length,
      members.reduce((a, m) => a + m.n * m.p, 0),
      opts.threads,
    );
    if (threads > 1)
      return prepareThreaded(members, load, { reopen, id, pipeline, length, threads }, { ...opts, engine: opts.engine ?? (await getGemmEngine()) });
  }
  const block = length === undefined ? undefined : new Float64Array(members.length * length);
  const prepare = memberPreparer(pipeline, opts);
  // The next member to load is read while this one is prepared (file reads run on libuv's threads), into the
  // other of two reused read buffers.
  const toLoad = members.map((m, i) => i).filter((i) => !streamed[i] && !hits[i]);
  const buffers: ReadBuffer[] = [{}, {}];
  const reads = new Map<number, Promise<Representation>>();
  const readAhead = (k: number) => {
    if (k >= toLoad.length) return;
    const read = Promise.resolve(load(toLoad[k], buffers[k % 2]));
    read.catch(() => undefined); // awaited in turn; this only keeps an early failure from being reported as unhandled
    reads.set(toLoad[k], read);
  };
  readAhead(0);
  let loaded = 0;
  for (let i = 0; i < members.length; i++) {
    let p = hits[i];
    if (!p) {
      const into = block && members[i].n === members[0].n ? block.subarray(i * length!, (i + 1) * length!) : undefined;
      const path = streamed[i];
      if (path) {
        p = prepareMatrix(await streamedMatrix(path, pipeline, { engine: opts.engine, precision: opts.precision }), pipeline, members[i].label, into);
      } else {
        const rep = await reads.get(i)!;
        reads.delete(i);
        readAhead(++loaded);
        p = await prepare(rep, into);
      }
      opts.cache?.set(members[i], key, p);
    }
    out.push(p);
    opts.onProgress?.(i + 1, members.length, members[i].label);
  }
  return out;
}

/** prepareAll on several threads (prepareThreads.ts): every member's vector in one shared block. */
async function prepareThreaded(
  members: readonly RepresentationInfo[],
  load: (i: number, buffer: ReadBuffer) => Representation | Promise<Representation>,
  job: { reopen: FeatureSetReopen; id: string; pipeline: Pipeline; length: number; threads: number },
  opts: SimilarityOptions & { engine: GemmEngine },
): Promise<Prepared[]> {
  const prepare = memberPreparer(job.pipeline, opts);
  let count = 0;
  const { block } = await prepareOnThreads(
    job.reopen,
    members.length,
    { id: job.id, precision: opts.precision, engine: opts.engine, length: job.length, threads: job.threads },
    async (i, buffer, into) => prepare(await load(i, buffer), into),
    (i) => opts.onProgress?.(++count, members.length, members[i].label),
  );
  const key = preparedCacheKey(job.id, opts.precision);
  return members.map((m, i) => {
    const p: Prepared = { kind: 'unit', vector: block.subarray(i * job.length, (i + 1) * job.length) };
    opts.cache?.set(m, key, p);
    return p;
  });
}

/** All inner products between two lists of prepared forms (rows × cols). */
async function compareAll(a: Prepared[], b: Prepared[], engine: GemmEngine): Promise<Float64Array> {
  if (a.length === 0 || b.length === 0) return new Float64Array(0);
  if (a[0].kind !== 'unit') {
    // Kendall's τ-b and τ-a have no product form: pair by pair on the triangles.
    const correlation = triangleCorrelation(a[0].kind);
    const out = new Float64Array(a.length * b.length);
    for (let i = 0; i < a.length; i++)
      for (let j = 0; j < b.length; j++)
        out[i * b.length + j] = correlation((a[i] as { triangle: Float64Array }).triangle, (b[j] as { triangle: Float64Array }).triangle);
    return out;
  }
  const m = (a[0] as { vector: Float64Array }).vector.length;
  const stack = (ps: Prepared[]) => {
    const first = (ps[0] as { vector: Float64Array }).vector;
    // Vectors prepared into one block (prepareAll) already are the stacked matrix.
    const inBlock = ps.every((p, i) => {
      const v = (p as { vector: Float64Array }).vector;
      return v.buffer === first.buffer && v.byteOffset === first.byteOffset + i * m * 8;
    });
    if (inBlock) return new Float64Array(first.buffer, first.byteOffset, ps.length * m);
    const s = new Float64Array(ps.length * m);
    ps.forEach((p, i) => s.set((p as { vector: Float64Array }).vector, i * m));
    return s;
  };
  const sa = stack(a);
  const sb = a === b ? sa : stack(b);
  // The comparison GEMM always runs in float64: its inputs are unit vectors whose dot products are the answer.
  return engine.abt(sa, a.length, sb, b.length, m, 'float64');
}

/** Similarity of every row representation to every column representation (e.g. candidate sources × targets). */
export async function crossSimilarity(
  rows: Representation[],
  cols: Representation[],
  measure: string | MeasureConfig,
  opts: SimilarityOptions = {},
): Promise<LabelledMatrix> {
  const r = resolve(measure);
  const n = checkSameImages([...rows, ...cols]);
  // A representation in both lists (e.g. a candidate that is also a target) is prepared once.
  const unique = [...new Set([...rows, ...cols])];
  const engine = opts.engine ?? (await getGemmEngine());
  if (r.pairwise) {
    const data = await pairwiseCross(rows, cols, unique, r, { ...opts, engine });
    return { rows: rows.map((x) => x.label), cols: cols.map((x) => x.label), matrix: { rows: rows.length, cols: cols.length, data }, measure: r.id };
  }
  const { id, pipeline } = r;
  checkPairwiseMemory(unique, n, pipeline);
  const all = await prepareAll(unique, (i) => unique[i], id, pipeline, { ...opts, engine });
  const byRep = new Map(unique.map((r, i) => [r, all[i]] as const));
  const data = await compareAll(
    rows.map((r) => byRep.get(r)!),
    cols.map((r) => byRep.get(r)!),
    engine,
  );
  return { rows: rows.map((r) => r.label), cols: cols.map((r) => r.label), matrix: { rows: rows.length, cols: cols.length, data }, measure: id };
}

/**
 * The M×M similarity matrix of a feature set: exactly symmetric with unit diagonal for the batched families; for a
 * pairwise family, its values (a distance keeps its direction: 0 on the diagonal, smaller = more similar), symmetric
 * when the family is.
 */
export async function similarityMatrix(
  set: FeatureSet | Representation[] | FeatureSetSource,
  measure: string | MeasureConfig,
  opts: SimilarityOptions = {},
): Promise<LabelledMatrix> {
  const members: readonly RepresentationInfo[] = Array.isArray(set) ? set : set.members;
  const load = 'read' in set ? (i: number, buffer?: ReadBuffer) => set.read(i, buffer) : (i: number) => (members as Representation[])[i];
  const r = resolve(measure);
  const labels = members.map((x) => x.label);
  if (r.pairwise) {
    // A pairwise family holds every member's prepared form at once, and those may view the values: read each whole.
    const reps: Representation[] = [];
    for (let i = 0; i < members.length; i++) reps.push(await load(i));
    checkSameImages(reps);
    const engine = opts.engine ?? (await getGemmEngine());
    const data = await pairwiseCross(reps, reps, reps, r, { ...opts, engine });
    return { rows: labels, cols: [...labels], matrix: { rows: reps.length, cols: reps.length, data }, measure: r.id };
  }
  const { id, pipeline } = r;
  checkPairwiseMemory(members, checkSameImages(members), pipeline);
  const engine = opts.engine ?? (await getGemmEngine());
  const prepared = await prepareAll(
    members,
    load,
    id,
    pipeline,
    { ...opts, engine },
    'read' in set ? set.reopen : undefined,
    'read' in set ? set.file : undefined,
  );
  const raw = await compareAll(prepared, prepared, engine);
  const t = members.length;
  const m = zeros(t, t);
  for (let i = 0; i < t; i++) {
    m.data[i * t + i] = 1;
    for (let j = i + 1; j < t; j++) {
      // Mirror one triangle so the matrix is exactly symmetric whatever the GEMM's summation order.
      m.data[i * t + j] = raw[i * t + j];
      m.data[j * t + i] = raw[i * t + j];
    }
  }
  return { rows: labels, cols: [...labels], matrix: m, measure: id };
}

/** Similarity (or, for a distance, the distance) of two representations; for an asymmetric family, a's value towards b. */
export async function pairSimilarity(a: Representation, b: Representation, measure: string | MeasureConfig, opts: SimilarityOptions = {}): Promise<number> {
  if (a === b) {
    // Still validates that the similarity is defined; the diagonal is the measure's value of a model with itself.
    const m = await similarityMatrix([a], measure, opts);
    return m.matrix.data[0];
  }
  const m = await similarityMatrix([a, b], measure, opts);
  return m.matrix.data[1];
}

// ---------------------------------------------------------------------------------------------------------
// Pairwise families

/**
 * Refuse before any work when the prepared forms would not fit: every model's prepared form stays in memory (the
 * family's `preparedBytes`, by default a float64 copy of its features; one copy, shared by every thread) while
 * each thread compares one pair at a time with about two n×n working matrices.
 */
function checkPairwiseFamilyMemory(reps: Representation[], n: number, family: PairwiseFamily, params: PairwiseParams, threads: number): void {
  const prepared = (r: Representation) => family.preparedBytes?.(r.n, r.p, params) ?? 8 * r.n * r.p;
  const bytes = reps.reduce((a, r) => a + prepared(r), 0) + threads * 8 * 2 * n * n;
  checkAllocation(
    `comparing ${reps.length} member${reps.length === 1 ? '' : 's'} pair by pair on ${formatCount(n)} images${threads > 1 ? ` (${threads} threads)` : ''}`,
    bytes,
    describeSet(reps),
  );
}

/** A representation as the float64 matrix a pairwise family prepares from (a fresh copy), checked for non-finite values. */
function featureMatrix(rep: Representation): { rows: number; cols: number; data: Float64Array } {
  const data = Float64Array.from(rep.data);
  const bad = firstNonFinite(data);
  if (bad >= 0) throw new Error(`${rep.label}: image ${Math.floor(bad / rep.p)}, feature ${bad % rep.p} is ${data[bad]}; features must be finite`);
  return { rows: rep.n, cols: rep.p, data };
}

/**
 * One representation's prepared form for a pairwise family (its features copied to float64 and checked first); an
 * error names the member's file when its label does not. The queue's workers prepare members through this too.
 */
export async function preparePairwiseForm(rep: Representation, config: PairwiseMeasureConfig, ctx: PairwiseContext): Promise<unknown> {
  try {
    return await pairwiseFamilyOf(config).prepare(featureMatrix(rep), config.params, rep.label, ctx, {
      shape: rep.shape,
      ...(rep.featureLayout ? { featureLayout: rep.featureLayout } : {}),
    });
  } catch (e) {
    if (e instanceof Error && rep.source !== rep.label && !e.message.includes(rep.source)) e.message = `${rep.source}: ${e.message}`;
    throw e;
  }
}

async function preparePairwise(
  reps: Representation[],
  r: Extract<Resolved, { pairwise: true }>,
  ctx: PairwiseContext,
  opts: SimilarityOptions,
  total: number,
  shared: boolean,
) {
  const key = pairwiseCacheKey(r.id, opts.precision);
  const out: unknown[] = [];
  for (let i = 0; i < reps.length; i++) {
    let p = opts.cache?.getPairwise(reps[i], key);
    // Pairs on several threads read the forms from shared memory; the cache keeps the shared copy for the next run.
    if (p && shared) {
      const value = shareArrays(p.value);
      if (value !== p.value) opts.cache?.set(reps[i], key, (p = { ...p, value }));
    }
    if (!p) {
      const value = await preparePairwiseForm(reps[i], r.config, ctx);
      p = { kind: 'pairwise', family: r.family.id, value: shared ? shareArrays(value) : value };
      opts.cache?.set(reps[i], key, p);
    }
    out.push(p.value);
    opts.onProgress?.(i + 1, total, reps[i].label);
  }
  return out;
}

/**
 * rows × cols values of a pairwise family. Every distinct representation is prepared once; a pair is computed once
 * (a symmetric family reuses (j, i) for (i, j)); a representation against itself takes the family's `self` value.
 * Pairs are independent: with `threads` > 1 (and enough of them, pairThreads.ts) they are spread over worker
 * threads, otherwise they run one after another (each compare still spreads its products and eigendecompositions
 * over the cores through the GEMM engine and LAPACK).
 */
async function pairwiseCross(
  rows: Representation[],
  cols: Representation[],
  unique: Representation[],
  r: Extract<Resolved, { pairwise: true }>,
  opts: SimilarityOptions & { engine: GemmEngine },
): Promise<Float64Array> {
  const n = unique[0]?.n ?? 0;
  const { family, config } = r;
  const symmetric = byParams(family.symmetric, config.params);
  const self = family.self === undefined ? undefined : byParams(family.self, config.params);
  const ctx: PairwiseContext = { engine: opts.engine, precision: opts.precision };
  const index = new Map(unique.map((x, i) => [x, i] as const));
  // The distinct pairs to compute, in row-major order; a symmetric family keys (i, j) and (j, i) alike.
  const keyOf = (i: number, j: number) => (symmetric && j < i ? `${j},${i}` : `${i},${j}`);
  const pairs = new Map<string, [number, number]>();
  for (const a of rows) {
    for (const b of cols) {
      const i = index.get(a)!;
      const j = index.get(b)!;
      if (i === j && self !== undefined) continue;
      const k = keyOf(i, j);
      if (!pairs.has(k)) pairs.set(k, symmetric && j < i ? [j, i] : [i, j]);
    }
  }
  const total = unique.length + pairs.size;
  // One thread unless asked (TASKMAP_THREADS): no default rule for pairs has been measured.
  const threads = opts.threads ?? drawThreads(0);
  const parallel = pairsInParallel(pairs.size, threads, opts.engine);
  checkPairwiseFamilyMemory(unique, n, family, config.params, parallel ? threads : 1);
  const prepared = await preparePairwise(unique, r, ctx, opts, total, parallel);
  const keys = [...pairs.keys()];
  const jobs = [...pairs.values()].map(([i, j]) => ({ i, j }));
  let done = unique.length;
  const computed = await comparePairs(family, config, prepared, jobs, ctx, parallel ? threads : 1, (k, v) => {
    const { i, j } = jobs[k];
    if (!Number.isFinite(v)) throw new Error(`${r.id}: comparing ${unique[i].label} with ${unique[j].label} gave ${v}`);
    opts.onProgress?.(++done, total, `${unique[i].label} × ${unique[j].label}`);
  });
  const values = new Map(keys.map((k, n) => [k, computed[n]] as const));
  const out = new Float64Array(rows.length * cols.length);
  rows.forEach((a, ri) =>
    cols.forEach((b, ci) => {
      const i = index.get(a)!;
      const j = index.get(b)!;
      out[ri * cols.length + ci] = i === j && self !== undefined ? self : values.get(keyOf(i, j))!;
    }),
  );
  return out;
}
