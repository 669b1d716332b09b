/**
 * Similarity between representations for any registered measure. Each model is reduced once to its prepared
 * comparator vector (normalise → n×n matrix → centre → rank/normalise), then all pairs come from ONE matrix
 * product of those vectors — never M² independent pair computations from features (docs/measures.md#batched-computation).
 */
import type { FeatureSet, Representation } from '../features/types.js';
import { checkImageIds } from '../features/imageIdentity.js';
import { zeros } from '../linalg/dense.js';
import { getGemmEngine, type GemmEngine, type Precision } from '../linalg/gemm.js';
import type { LabelledMatrix } from '../linalg/labelled.js';
import { kendallTauB } from '../linalg/correlation.js';
import { checkAllocation } from '../io/limits.js';
import { centerMatrix, maxAbs, prepareForComparator, type Prepared } from './compare.js';
import { kernelMatrix, rdmMatrix, type FeatureMatrix } from './kernels.js';
import { normalizeFeatures } from './normalize.js';
import { measureId, parseMeasure, pipelineOf, type MeasureConfig, type Pipeline } from './registry.js';

export interface SimilarityOptions {
  engine?: GemmEngine;
  /** GEMM precision for the n×n matrices (default float64; float32 is ~2× faster and good to ~1e-6). */
  precision?: Precision;
  /** Called after each model is prepared: (done, total, label). */
  onProgress?: (done: number, total: number, label: string) => void;
  /** Reuse prepared vectors across calls (e.g. a server or an evaluation sweep over the same models). */
  cache?: PreparedCache;
}

/** Prepared vectors per representation and pipeline; entries die with their representation. */
export class PreparedCache {
  private map = new WeakMap<Representation, Map<string, Prepared>>();
  get(rep: Representation, key: string): Prepared | undefined {
    return this.map.get(rep)?.get(key);
  }
  set(rep: Representation, key: string, value: Prepared): void {
    let m = this.map.get(rep);
    if (!m) this.map.set(rep, (m = new Map()));
    m.set(key, value);
  }
}

function resolve(measure: string | MeasureConfig): { config: MeasureConfig; id: string; pipeline: Pipeline } {
  const config = typeof measure === 'string' ? parseMeasure(measure) : measure;
  return { config, id: measureId(config), pipeline: pipelineOf(config) };
}

/** Reduce one representation to its comparator form for a pipeline. */
export async function prepareRepresentation(rep: Representation, pipeline: Pipeline, opts: SimilarityOptions = {}): Promise<Prepared> {
  try {
    return await prepareOne(rep, pipeline, opts);
  } catch (e) {
    // Measure errors name the member by label; say which file that is when it is not obvious.
    if (e instanceof Error && rep.source !== rep.label && !e.message.includes(rep.source)) e.message = `${rep.source}: ${e.message}`;
    throw e;
  }
}

async function prepareOne(rep: Representation, pipeline: Pipeline, opts: SimilarityOptions): Promise<Prepared> {
  const x: FeatureMatrix = {
    label: rep.label,
    n: rep.n,
    p: rep.p,
    data: normalizeFeatures(rep, pipeline.norm, { shape: pipeline.shape, layout: pipeline.layout, groups: pipeline.groups }),
  };
  const gemm = { engine: opts.engine, precision: opts.precision };
  const k =
    pipeline.matrix.type === 'kernel'
      ? await kernelMatrix(x, pipeline.matrix.kernel, { ...gemm, t: pipeline.t })
      : await rdmMatrix(x, pipeline.matrix.distance, gemm);
  // k is this call's scratch (n² doubles, 200 MB at n = 5000): centre it in place rather than copy it.
  const scale = maxAbs(k.data);
  return prepareForComparator(centerMatrix(k, pipeline.centering, rep.label, true), pipeline.compare, rep.label, scale);
}

/** How the members appear in a memory refusal: the file they share (an .npz, a folder) or the first few. */
function describeSet(reps: Representation[]): string {
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
 * vector (n(n+1)/2 doubles), the comparison stacks them once more, and preparing one member needs up to three
 * n×n scratch matrices (Gram, distances, the sorted copy for the RBF median).
 */
function checkPairwiseMemory(reps: Representation[], n: number): void {
  const half = (n * (n + 1)) / 2;
  const bytes = 8 * (2 * reps.length * half + 3 * n * n);
  checkAllocation(
    `comparing ${reps.length} member${reps.length === 1 ? '' : 's'} on ${n.toLocaleString('en-US')} images (n×n matrices per member)`,
    bytes,
    describeSet(reps),
  );
}

function checkSameImages(reps: Representation[]): number {
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

async function prepareAll(reps: Representation[], id: string, pipeline: Pipeline, opts: SimilarityOptions): Promise<Prepared[]> {
  const out: Prepared[] = [];
  const key = preparedCacheKey(id, opts.precision);
  for (let i = 0; i < reps.length; i++) {
    let p = opts.cache?.get(reps[i], key);
    if (!p) {
      p = await prepareRepresentation(reps[i], pipeline, opts);
      opts.cache?.set(reps[i], key, p);
    }
    out.push(p);
    opts.onProgress?.(i + 1, reps.length, reps[i].label);
  }
  return out;
}

/** All inner products between two lists of prepared forms (rows × cols). */
async function compareAll(a: Prepared[], b: Prepared[], engine: GemmEngine): Promise<Float64Array> {
  if (a.length === 0 || b.length === 0) return new Float64Array(0);
  if (a[0].kind === 'kendall') {
    const out = new Float64Array(a.length * b.length);
    for (let i = 0; i < a.length; i++)
      for (let j = 0; j < b.length; j++)
        out[i * b.length + j] = kendallTauB((a[i] as { triangle: Float64Array }).triangle, (b[j] as { triangle: Float64Array }).triangle);
    return out;
  }
  const m = (a[0] as { vector: Float64Array }).vector.length;
  const stack = (ps: Prepared[]) => {
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
  const { id, pipeline } = resolve(measure);
  const n = checkSameImages([...rows, ...cols]);
  // A representation in both lists (e.g. a candidate that is also a target) is prepared once.
  const unique = [...new Set([...rows, ...cols])];
  checkPairwiseMemory(unique, n);
  const engine = opts.engine ?? (await getGemmEngine());
  const all = await prepareAll(unique, id, pipeline, { ...opts, engine });
  const byRep = new Map(unique.map((r, i) => [r, all[i]] as const));
  const data = await compareAll(
    rows.map((r) => byRep.get(r)!),
    cols.map((r) => byRep.get(r)!),
    engine,
  );
  return { rows: rows.map((r) => r.label), cols: cols.map((r) => r.label), matrix: { rows: rows.length, cols: cols.length, data }, measure: id };
}

/** The M×M similarity matrix of a feature set, exactly symmetric with unit diagonal. */
export async function similarityMatrix(
  set: FeatureSet | Representation[],
  measure: string | MeasureConfig,
  opts: SimilarityOptions = {},
): Promise<LabelledMatrix> {
  const reps = Array.isArray(set) ? set : set.members;
  const { id, pipeline } = resolve(measure);
  checkPairwiseMemory(reps, checkSameImages(reps));
  const engine = opts.engine ?? (await getGemmEngine());
  const prepared = await prepareAll(reps, id, pipeline, { ...opts, engine });
  const raw = await compareAll(prepared, prepared, engine);
  const t = reps.length;
  const m = zeros(t, t);
  for (let i = 0; i < t; i++) {
    m.data[i * t + i] = 1;
    for (let j = i + 1; j < t; j++) {
      // Mirror one triangle so the matrix is exactly symmetric whatever the GEMM's summation order.
      m.data[i * t + j] = raw[i * t + j];
      m.data[j * t + i] = raw[i * t + j];
    }
  }
  const labels = reps.map((r) => r.label);
  return { rows: labels, cols: [...labels], matrix: m, measure: id };
}

/** Similarity of two representations. */
export async function pairSimilarity(a: Representation, b: Representation, measure: string | MeasureConfig, opts: SimilarityOptions = {}): Promise<number> {
  if (a === b) {
    await similarityMatrix([a], measure, opts); // still validates that the similarity is defined
    return 1;
  }
  const m = await similarityMatrix([a, b], measure, opts);
  return m.matrix.data[1];
}
