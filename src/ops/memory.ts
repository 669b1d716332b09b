/**
 * Peak memory from shapes (issue 15, goal 6): what `similarity`, `rank` and `rdm` hold at their peak, worked out
 * before anything is loaded — from the .npy headers of a feature folder or file (the other formats are loaded to
 * learn their shapes). `--dry-run` prints the estimate; a run whose estimate is over the memory budget
 * (`--max-memory`) is refused up front, naming the parts, instead of failing part-way through.
 *
 * The model follows the code. A batched measure prepares one member at a time — its features as read (when
 * `similarity` reads a folder member by member; otherwise the whole set is loaded first), their float64 copy, its
 * n×n matrix and its comparator's scratch, counted by measures/prepareMemory.ts as the refusal inside
 * measures/similarity.ts counts them — and keeps each member's prepared vector in one block. A member too big to
 * load within the budget is streamed from its file instead (measures/streamedMatrix.ts): one column block and one
 * Gram tile in place of its features. A pairwise family (Procrustes, CCA, …) keeps a float64 copy of every member's
 * features. A bootstrap that computes its draws from the full matrices (measures/subsets.ts) keeps one n×n matrix
 * per member. `rdm` holds the file, its float64 copy and the RDM, or when that is over the budget the streamed RDM,
 * one block and one tile, whatever the number of features. The runtime itself (Node, onnxruntime: ~150 MB) is
 * reported but not counted against the budget, which is for data.
 */
import { stat } from 'node:fs/promises';
import { freemem } from 'node:os';
import { extname, join } from 'node:path';
import { checkedManifestOfFile, featureFolderLabels, loadFeatureSet } from '../features/featureSet.js';
import { displayPath, readInputHead } from '../io/input.js';
import { formatBytes, LimitError, maxMemory, RAISE_MEMORY } from '../io/limits.js';
import { formatCount, MAX_NPY_HEADER_BYTES, parseNpyHeader, product } from '../io/npy.js';
import { isPairwise, parseMeasure, pipelineOf } from '../measures/registry.js';
import { slicesSubsets, subsetPreparerBytes } from '../measures/subsets.js';
import type { RdmDistance } from '../measures/kernels.js';
import { describeStream, streamable, streamedMatrix, streamedParts, type StreamedSpec } from '../measures/streamedMatrix.js';
import { preparedLength } from '../measures/compare.js';
import { comparisonBytes, featureStageBytes, float64Bytes, loadedBytes, matrixBytes, preparedValues, squareStageBytes } from '../measures/prepareMemory.js';
import { prepareThreads } from '../measures/prepareThreads.js';
import type { Matrix } from '../linalg/dense.js';

/** One member's shape: images, features per image, bytes per stored value. */
export interface MemberShape {
  label: string;
  n: number;
  p: number;
  bytesPerValue: number;
}

/** The shapes of a feature set, and whether they came from headers alone or from loading the set. */
export interface FeatureSetShapes {
  members: MemberShape[];
  from: 'headers' | 'loaded';
}

export interface MemoryPart {
  what: string;
  bytes: number;
}

/** An estimate: its parts (which add up to `peak`), the budget it is held to and the free RAM now. */
export interface MemoryEstimate {
  /** What is estimated, for messages ("similarity of 20 members on 500 images (rsa)"). */
  task: string;
  parts: MemoryPart[];
  peak: number;
  budget: number;
  free: number;
  /** Not counted against the budget: Node and onnxruntime themselves. */
  runtime: number;
}

/** What Node, V8 and onnxruntime take before any data (RSS of a run on tiny inputs, rounded up). */
export const RUNTIME_BYTES = 150 * 1024 ** 2;

async function npyShape(file: string, label: string): Promise<MemberShape> {
  const h = parseNpyHeader((await readInputHead(file, MAX_NPY_HEADER_BYTES + 12)).head, file);
  if (h.shape.length < 2) throw new Error(`${file}: features need shape (n_images, n_features, ...), got (${h.shape.join(', ')})`);
  // float16 is widened to float32 on read.
  return { label, n: h.shape[0], p: product(h.shape.slice(1)), bytesPerValue: Math.max(4, h.type.size) };
}

/**
 * The members' shapes: from the .npy headers of a folder of .npy files or of one .npy file (nothing else is read);
 * other formats (.npz, .safetensors, HDF5, Net2Brain folders) are loaded, or with `load: false` give no members.
 */
export async function featureSetShapes(path: string, opts: { load?: boolean } = {}): Promise<FeatureSetShapes> {
  const st = await stat(path);
  if (st.isDirectory()) {
    const labels = await featureFolderLabels(path);
    if (labels.length > 0) return { members: await Promise.all(labels.map((l) => npyShape(join(path, `${l}.npy`), l))), from: 'headers' };
  } else if (extname(path).toLowerCase() === '.npy') {
    return { members: [await npyShape(path, path)], from: 'headers' };
  }
  if (opts.load === false) return { members: [], from: 'loaded' };
  const set = await loadFeatureSet(path);
  return { members: set.members.map((m) => ({ label: m.label, n: m.n, p: m.p, bytesPerValue: m.data.BYTES_PER_ELEMENT })), from: 'loaded' };
}

function estimate(task: string, parts: MemoryPart[], peak?: number): MemoryEstimate {
  return { task, parts, peak: peak ?? parts.reduce((a, p) => a + p.bytes, 0), budget: maxMemory(), free: freemem(), runtime: RUNTIME_BYTES };
}

/** How `similarityMemory` is to count a run. */
export interface SimilarityMemoryOptions {
  /** Bootstrap draws of `subset` images (`rank --bootstrap`). */
  bootstrap?: { subset: number };
  /** A pairwise family's pairs, or a batched measure's members (--threads), on that many threads. */
  threads?: number;
  /**
   * The members are read one at a time into one reused buffer (`similarity` on a folder of .npy files,
   * features/featureSet.ts openFeatureSet), and one too big to load is streamed from its file; otherwise the whole
   * set is loaded first (rank, the bootstrap, .npz and other formats).
   */
  oneAtATime?: boolean;
}

/**
 * Peak memory of `similarity` (the M×M matrix) or `rank` (candidates against a target, optionally with bootstrap
 * draws of `subset` images) on these members under `measure`. A batched measure's preparation is counted as
 * measures/prepareMemory.ts counts it for the refusal in measures/similarity.ts.
 */
export function similarityMemory(members: MemberShape[], measure: string, opts: SimilarityMemoryOptions = {}): MemoryEstimate {
  const m = members.length;
  const n = members[0]?.n ?? 0;
  const features = members.reduce((a, x) => a + x.n * x.p * x.bytesPerValue, 0);
  const maxP = members.reduce((a, x) => Math.max(a, x.p), 0);
  const config = parseMeasure(measure);
  const task = `${opts.bootstrap ? 'ranking' : 'similarity of'} ${formatCount(m)} member${m === 1 ? '' : 's'} on ${formatCount(n)} images (${measure})`;
  const loaded: MemoryPart = { what: `features as loaded (${formatCount(m)} × ${formatCount(n)} images)`, bytes: features };
  if (isPairwise(config)) {
    return estimate(task, [
      loaded,
      { what: 'float64 copies of every member for the pair comparisons', bytes: 8 * m * n * maxP },
      // With pairs on several threads (measures/pairThreads.ts) each thread has its own.
      ...(opts.threads !== undefined && opts.threads > 1
        ? [{ what: `two n×n work matrices per thread (${opts.threads} threads)`, bytes: opts.threads * 16 * n * n }]
        : [{ what: 'two n×n work matrices', bytes: 16 * n * n }]),
    ]);
  }
  const pipeline = pipelineOf(config);
  const read = Boolean(opts.oneAtATime);
  const streams = (x: MemberShape) => read && streamable(pipeline) === undefined && loadedBytes(x.n, x.p, x.bytesPerValue) > maxMemory();
  const streamed = members.filter(streams).length;
  // Threads prepare members side by side (measures/prepareThreads.ts), each its own; never for streamed members.
  const threads =
    read && streamed === 0 && preparedLength(pipeline.compare, n) !== undefined
      ? prepareThreads(
          m,
          members.reduce((a, x) => a + x.n * x.p, 0),
          opts.threads,
        )
      : 1;
  const one = members.reduce(
    (a, x) => Math.max(a, featureStageBytes(x.n, x.p, x.bytesPerValue, pipeline, { read, streamed: streams(x) }) + squareStageBytes(x.n, pipeline)),
    0,
  );
  const kept = preparedValues(n, pipeline.compare);
  const features64 = read ? 'its features as read and in float64' : 'its features in float64';
  const stage =
    streamed === m ? 'one column block and Gram tile of its file' : streamed ? `${features64} (streamed members: one column block and tile)` : features64;
  const what = `preparing one member${threads > 1 ? ` on each of ${threads} threads` : ''} (${stage}, its n×n matrix, the comparator’s scratch) or stacking the vectors`;
  const parts: MemoryPart[] = [
    ...(read ? [] : [loaded]),
    { what: `prepared vectors, one per member (${formatCount(kept)} values each)`, bytes: 8 * m * kept },
    { what, bytes: Math.max(threads * one, comparisonBytes(m, n, pipeline.compare)) },
  ];
  if (opts.bootstrap && slicesSubsets(pipeline)) {
    const s = opts.bootstrap.subset;
    parts.push({ what: 'full n×n matrices the bootstrap draws are computed from, one per member', bytes: subsetPreparerBytes(n, m) });
    parts.push({ what: `one draw (${formatCount(s)} images): its prepared vectors and work matrices`, bytes: 8 * m * ((s * (s + 1)) / 2) * 2 + 3 * 8 * s * s });
  }
  return estimate(task, parts);
}

/** What `rdm` is asked for: the distance and whether features are centred first (as its options say). */
export interface RdmSpec {
  distance?: RdmDistance;
  center?: boolean;
}

function rdmStreamSpec(spec: RdmSpec): StreamedSpec {
  return { norm: spec.center ? 'centering' : 'none', matrix: { type: 'rdm', distance: spec.distance ?? 'correlation' } };
}

/** `rdm` with the file loaded whole: the features, their float64 copies (measures/prepareMemory.ts) and the n×n RDM. */
function rdmInMemory(member: MemberShape, spec: RdmSpec): MemoryEstimate {
  const { n, p, bytesPerValue } = member;
  const matrix = rdmStreamSpec(spec).matrix;
  const euclidean = spec.distance === 'euclidean' || spec.distance === 'sqeuclidean';
  return estimate(`the RDM of ${member.label} (${formatCount(n)} images)`, [
    { what: 'features as loaded', bytes: n * p * bytesPerValue },
    { what: euclidean ? 'float64 copy of the features and its scaled, centred copy' : 'float64 copy of the features', bytes: float64Bytes(n, p, matrix) },
    { what: 'the n×n RDM', bytes: matrixBytes(n, matrix) },
  ]);
}

/** `rdm` from column blocks of the .npy (measures/streamedMatrix.ts): the n×n matrix, one block and one Gram tile. */
function rdmStreamed(member: MemberShape, spec: RdmSpec): MemoryEstimate {
  const { n, p, bytesPerValue } = member;
  return estimate(
    `the RDM of ${member.label} (${formatCount(n)} images; ${formatCount(p)} features streamed in ${describeStream(n, p)})`,
    streamedParts(n, p, bytesPerValue, rdmStreamSpec(spec)),
  );
}

/**
 * Whether `rdm` reads this file in column blocks: when loading it whole would be over the memory budget. Loading is
 * kept where it fits: one read of the file, and the path every other command takes.
 */
export function rdmStreams(member: MemberShape): boolean {
  return loadedBytes(member.n, member.p, member.bytesPerValue) > maxMemory();
}

/** Peak memory of `rdm` on one .npy file, by the path it will take (rdmStreams). */
export function rdmMemory(member: MemberShape, spec: RdmSpec = {}): MemoryEstimate {
  return rdmStreams(member) ? rdmStreamed(member, spec) : rdmInMemory(member, spec);
}

/** The RDM of an .npy file from column blocks, when rdmStreams says so; undefined when the file is to be loaded. */
export async function streamedRdmIfNeeded(file: string, spec: RdmSpec): Promise<Matrix | undefined> {
  if (extname(file).toLowerCase() !== '.npy') return undefined;
  const shape = await npyShape(file, file);
  if (!rdmStreams(shape)) return undefined;
  // The checks loading makes (loadRepresentation), before hours of streaming.
  await checkedManifestOfFile(file, shape.n, displayPath(file));
  return streamedMatrix(file, rdmStreamSpec(spec));
}

/** The estimate as lines for `--dry-run`. */
export function formatMemoryEstimate(e: MemoryEstimate, shapesFrom?: FeatureSetShapes['from']): string {
  const width = Math.max(formatBytes(e.peak).length, ...e.parts.map((p) => formatBytes(p.bytes).length));
  const lines = [`estimated peak memory of ${e.task}${shapesFrom === 'loaded' ? ' (shapes read by loading the set)' : ''}:`];
  for (const p of e.parts) lines.push(`  ${formatBytes(p.bytes).padStart(width)}  ${p.what}`);
  lines.push(`  ${formatBytes(e.peak).padStart(width)}  in all (plus ~${formatBytes(e.runtime)} for Node and onnxruntime)`);
  const fits = e.peak <= e.budget;
  lines.push(
    `memory budget ${formatBytes(e.budget)} (--max-memory): ${fits ? 'fits' : 'OVER — the run would be refused'}; free RAM now ${formatBytes(e.free)}`,
  );
  if (fits && e.peak + e.runtime > e.free) lines.push('warning: more than the RAM free right now; the system may swap');
  return lines.join('\n');
}

/** Refuse a run whose estimate is over the memory budget, before it loads anything; `where` names the input. */
export function checkMemoryEstimate(e: MemoryEstimate, where: string): void {
  if (e.peak <= e.budget) return;
  const largest = [...e.parts].sort((a, b) => b.bytes - a.bytes)[0];
  throw new LimitError(
    `${where}: ${e.task} would need about ${formatBytes(e.peak)} at its peak (largest part: ${largest.what}, ${formatBytes(largest.bytes)}), ` +
      `over the memory limit of ${formatBytes(e.budget)}; ${RAISE_MEMORY}, or use fewer images or members (--dry-run shows the estimate)`,
  );
}
