/**
 * The similarity matrix over the queue, for feature sets too big for one machine. It is the local computation
 * (measures/similarity.ts) cut at its two stages:
 *   1. one `similarity-prepare` job per member reduces it to its prepared comparator vector (normalise → n×n
 *      matrix → centre → rank/normalise) and writes it to `<work>/prepared/<key>.npy`, with a `.json` sidecar
 *      (written last: the commit mark) giving its length, image count and image ids;
 *   2. one `similarity-block` job per block of member pairs (B×B members, upper triangle of blocks) multiplies
 *      the two stacks of vectors — the blocked form of the one GEMM a local run does — and writes the block to
 *      `<work>/blocks/<run>/<bi>-<bj>.npy`.
 * The coordinator assembles the M×M matrix, mirrored and with a unit diagonal as the local one: the same values up
 * to the GEMM's summation order (≤ 1e-12).
 * A pairwise family (procrustes, cca, predictivity, …; measures/pairwise.ts) has no vector to multiply: its
 * `similarity-prepare` jobs write each member's prepared form serialised (`<key>.v8`, node:v8 — exact numbers), and
 * one `similarity-pairs` job per block of members (default: one pair per job) compares the forms pair by pair; a
 * symmetric family's blocks cover the upper triangle, an asymmetric family's both. The diagonal is the family's
 * self value (computed where it has none), as locally: the same compare on the same numbers, so the local values. A prepared vector's key hashes the member's file (path, size,
 * modification time), the measure and the precision, so a re-run — after a crash, or with more members — reuses
 * every vector and block already on disk.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { deserialize, serialize } from 'node:v8';
import { dirname, join, resolve as resolvePath } from 'node:path';
import type { Queue } from 'bullmq';
import { featureFolderLabels, loadFeatureSet } from '../features/featureSet.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readNpy, writeNpy } from '../io/npy.js';
import { pathInside } from '../io/paths.js';
import { zeros } from '../linalg/dense.js';
import { getGemmEngine, type EngineKind, type Precision } from '../linalg/gemm.js';
import type { LabelledMatrix } from '../linalg/labelled.js';
import { catalogueEntry } from '../measures/catalogue.js';
import { comparePairs, pairsInParallel, shareArrays, type PairJob } from '../measures/pairThreads.js';
import { byParams, type PairwiseFamily, type PairwiseParams } from '../measures/pairwise.js';
import {
  canonicalMeasureId,
  describeMeasure,
  isPairwise,
  pairwiseFamilyOf,
  parseMeasure,
  pipelineOf,
  type MeasureInfo,
  type PairwiseMeasureConfig,
} from '../measures/registry.js';
import { preparedKind, triangleCorrelation } from '../measures/rdmComparators.js';
import { preparePairwiseForm, prepareRepresentation } from '../measures/similarity.js';
import { drawThreads } from '../measures/subsetDraws.js';
import { connectQueue, parseQueueUrl, redact } from './connection.js';
import { follow, followDefaults, type Tracked } from './follow.js';
import type { QueueOptions } from './extract.js';
import {
  PAYLOAD_VERSION,
  parsePayload,
  RefusedJob,
  type PreparedInfo,
  type SimilarityBlockPayload,
  type SimilarityPairsPayload,
  type SimilarityPreparePayload,
} from './payloads.js';
import type { Roots } from './roots.js';

export interface QueuedSimilarityOptions extends QueueOptions {
  /** Shared folder for prepared vectors and blocks (default: `.taskmap-work` inside the feature-set folder, or beside the file). */
  work?: string;
  /** Labels in matrix order (also a subset); default: all, sorted. */
  order?: string[];
  precision?: Precision;
  engine?: EngineKind;
  /** Members per block side (default: what fits 2 GiB of vectors per block job, at most 64; a pairwise family: 1, one pair per job). */
  blockSize?: number;
  /** (done, total, what) over the prepare jobs, then the block jobs. */
  onProgress?: (done: number, total: number, label: string) => void;
}

export interface QueuedSimilarityResult {
  matrix: LabelledMatrix;
  measure: MeasureInfo;
  images: number;
  members: number;
  /** Jobs whose outputs were already on disk (an earlier run) and were not run again. */
  reused: { prepared: number; blocks: number };
}

const sha = (x: unknown) => createHash('sha256').update(JSON.stringify(x)).digest('hex');

interface Member {
  label: string;
  key: string;
}

/** Members in matrix order with the key of their prepared vector. */
async function planMembers(path: string, isDir: boolean, id: string, precision: Precision, order: string[] | undefined): Promise<Member[]> {
  let labels: string[];
  if (isDir) {
    const all = await featureFolderLabels(path);
    if (all.length === 0)
      throw new Error(`${path}: no .npy files found; queued similarity reads a directory of <label>.npy files, a .npz or a .safetensors file`);
    if (order) {
      const known = new Set(all);
      const bad = order.filter((l) => !known.has(l));
      if (bad.length) throw new Error(`${path}: unknown label "${bad[0]}" in order; available labels: ${all.slice(0, 50).join(', ')}`);
      if (new Set(order).size !== order.length) throw new Error(`${path}: a label appears twice in order`);
    }
    labels = order ?? all;
  } else {
    // A single file (.npz, .safetensors, .h5, .npy) is read once here for its labels and checks.
    labels = (await loadFeatureSet(path, { order })).members.map((m) => m.label);
  }
  const out: Member[] = [];
  for (const label of labels) {
    const file = isDir ? pathInside(path, `${label}.npy`, 'member label') : path;
    const st = await stat(file);
    out.push({ label, key: sha({ v: PAYLOAD_VERSION, set: path, label, size: st.size, mtime: st.mtimeMs, measure: id, precision }) });
  }
  return out;
}

function defaultBlockSize(vectorLength: number): number {
  return Math.max(1, Math.min(64, Math.floor((2 * 1024 ** 3) / (2 * 8 * Math.max(1, vectorLength)))));
}

/** A pairwise family's prepared form is serialised (.v8); a comparator vector is an .npy. */
const preparedFile = (work: string, key: string, pairwise: boolean) => join(work, 'prepared', `${key}.${pairwise ? 'v8' : 'npy'}`);

/** The settings of a pairwise family that decide which pairs to compute. */
function pairwiseShape(family: PairwiseFamily, params: PairwiseParams): { symmetric: boolean; self: number | undefined } {
  return { symmetric: byParams(family.symmetric, params), self: family.self === undefined ? undefined : byParams(family.self, params) };
}

async function readInfo(work: string, key: string): Promise<PreparedInfo | undefined> {
  try {
    const info = JSON.parse(await readFile(join(work, 'prepared', `${key}.json`), 'utf8')) as PreparedInfo;
    const st = await stat(preparedFile(work, key, info.kind === 'pairwise'));
    return st.size > 0 ? info : undefined;
  } catch {
    return undefined;
  }
}

async function readBlock(file: string, rows: number, cols: number): Promise<Float64Array | undefined> {
  try {
    const a = readNpy(await readFile(file), file);
    return a.dtype === 'float64' && a.shape.join() === `${rows},${cols}` ? (a.data as Float64Array) : undefined;
  } catch {
    return undefined;
  }
}

/** `taskmap similarity --queue`: the M×M similarity matrix, prepared and multiplied by the queue's workers. */
export async function similarityQueued(featureSet: string, measure: string, opts: QueuedSimilarityOptions): Promise<QueuedSimilarityResult> {
  catalogueEntry(measure, 'representations');
  const id = canonicalMeasureId(measure);
  const precision = opts.precision ?? 'float64';
  const engine = opts.engine ?? 'auto';
  const path = resolvePath(featureSet);
  const st = await stat(path).catch(() => {
    throw new Error(`${featureSet}: no such file or directory; a feature set is a directory of .npy files, a .npz or a .safetensors file`);
  });
  const work = resolvePath(opts.work ?? join(st.isDirectory() ? path : dirname(path), '.taskmap-work'));
  const members = await planMembers(path, st.isDirectory(), id, precision, opts.order);
  const config = parseMeasure(id);
  const pairwise = isPairwise(config) ? pairwiseShape(pairwiseFamilyOf(config), config.params) : undefined;
  const kind = pairwise ? 'pairwise' : preparedKind(pipelineOf(config).compare);
  const target = parseQueueUrl(opts.queue);
  const queue: Queue = await connectQueue(target);
  const reused = { prepared: 0, blocks: 0 };
  const progress = opts.onProgress ?? (() => undefined);
  const fail = (item: { payload: { title: string } }, reason: string, attempts: number): never => {
    throw new Error(`${item.payload.title}: failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${reason}`);
  };
  try {
    // 1. Prepared vectors, one job per member.
    const infos = new Map<string, PreparedInfo>();
    for (const m of members) {
      const info = await readInfo(work, m.key);
      if (info) {
        infos.set(m.key, info);
        reused.prepared++;
      }
    }
    const prepares: Tracked<PreparedInfo>[] = members
      .filter((m) => !infos.has(m.key))
      .map((m) => ({
        id: `sp-${m.key}`,
        name: 'similarity-prepare',
        payload: {
          v: PAYLOAD_VERSION,
          title: `prepare ${m.label}`,
          featureSet: path,
          label: m.label,
          measure: id,
          precision,
          engine,
          work,
          key: m.key,
        } satisfies SimilarityPreparePayload,
        read: () => readInfo(work, m.key),
      }));
    let done = infos.size;
    progress(done, members.length, 'prepare');
    await follow(queue, target, prepares, {
      ...followDefaults(opts),
      onDone: (item, info) => {
        infos.set((item.payload as SimilarityPreparePayload).key, info);
        progress(++done, members.length, (item.payload as SimilarityPreparePayload).label);
      },
      onFailed: fail,
    });

    // The checks a local run makes across members: the same images, in the same order.
    const first = infos.get(members[0].key)!;
    for (const m of members) {
      const info = infos.get(m.key)!;
      if (info.n !== first.n)
        throw new Error(`all representations must be computed on the same images: ${members[0].label} has ${first.n} images but ${m.label} has ${info.n}`);
      if (info.imagesDigest && first.imagesDigest && info.imagesDigest !== first.imagesDigest)
        throw new Error(`${members[0].label} and ${m.label} were computed on different images (their image ids differ); re-extract them on the same images`);
      if (info.kind !== kind || (!pairwise && info.length !== first.length))
        throw new Error(`${m.label}: prepared vector does not match the others (${info.kind}, ${info.length} values); delete ${work} and run again`);
    }

    // 2. Blocks of the M×M matrix (upper triangle of blocks; both triangles for an asymmetric pairwise family).
    const t = members.length;
    const bs = opts.blockSize ?? (pairwise ? 1 : defaultBlockSize(first.length));
    const nb = Math.ceil(t / bs);
    const run = sha({ keys: members.map((m) => m.key), bs, engine });
    const blocks: (Tracked<Float64Array> & { bi: number; bj: number })[] = [];
    for (let bi = 0; bi < nb; bi++) {
      for (let bj = pairwise && !pairwise.symmetric ? 0 : bi; bj < nb; bj++) {
        const rows = members.slice(bi * bs, (bi + 1) * bs).map((m) => m.key);
        const cols = members.slice(bj * bs, (bj + 1) * bs).map((m) => m.key);
        // Only the diagonal, which is 1 by definition (a pairwise family: its self value, when it has one).
        if (bi === bj && rows.length === 1 && (!pairwise || pairwise.self !== undefined)) continue;
        const block = `${bi}-${bj}`;
        const file = join(work, 'blocks', run, `${block}.npy`);
        const shape = `${rows.length}×${cols.length} members`;
        const payload = pairwise
          ? ({
              v: PAYLOAD_VERSION,
              title: `pairs ${block} (${shape})`,
              work,
              run,
              block,
              measure: id,
              precision,
              rows,
              cols,
              engine,
            } satisfies SimilarityPairsPayload)
          : ({
              v: PAYLOAD_VERSION,
              title: `block ${block} (${shape})`,
              work,
              run,
              block,
              kind: kind as SimilarityBlockPayload['kind'],
              rows,
              cols,
              engine,
            } satisfies SimilarityBlockPayload);
        blocks.push({
          bi,
          bj,
          id: `sb-${sha({ run, block })}`,
          name: pairwise ? 'similarity-pairs' : 'similarity-block',
          payload,
          read: () => readBlock(file, rows.length, cols.length),
        });
      }
    }
    const raw = zeros(t, t);
    let bdone = 0;
    const place = (b: { bi: number; bj: number }, data: Float64Array) => {
      const r0 = b.bi * bs;
      const c0 = b.bj * bs;
      const rows = Math.min(bs, t - r0);
      const cols = Math.min(bs, t - c0);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) raw.data[(r0 + i) * t + c0 + j] = data[i * cols + j];
    };
    const byId = new Map(blocks.map((b) => [b.id, b]));
    const todo: typeof blocks = [];
    for (const b of blocks) {
      const got = await b.read();
      if (got) {
        place(b, got);
        reused.blocks++;
        bdone++;
      } else todo.push(b);
    }
    progress(bdone, blocks.length, 'blocks');
    await follow(queue, target, todo, {
      ...followDefaults(opts),
      onDone: (item, data) => {
        place(byId.get(item.id)!, data);
        progress(++bdone, blocks.length, item.payload.title);
      },
      onFailed: fail,
    });

    // Assemble as the local run does: unit diagonal (a pairwise family: its self value or the computed one), one
    // triangle mirrored (exactly symmetric) unless the family is asymmetric.
    const m = zeros(t, t);
    for (let i = 0; i < t; i++) {
      m.data[i * t + i] = pairwise ? (pairwise.self ?? raw.data[i * t + i]) : 1;
      for (let j = i + 1; j < t; j++) {
        m.data[i * t + j] = raw.data[i * t + j];
        m.data[j * t + i] = pairwise && !pairwise.symmetric ? raw.data[j * t + i] : raw.data[i * t + j];
      }
    }
    const labels = members.map((x) => x.label);
    return { matrix: { rows: labels, cols: [...labels], matrix: m, measure: id }, measure: describeMeasure(id), images: first.n, members: t, reused };
  } catch (e) {
    if (e instanceof Error) e.message = redact(e.message, target);
    throw e;
  } finally {
    await queue.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Worker side

const refuse = (e: unknown): never => {
  throw new RefusedJob((e as Error).message);
};

function parseOrRefuse<K extends 'similarity-prepare' | 'similarity-block' | 'similarity-pairs'>(kind: K, data: unknown) {
  try {
    return parsePayload(kind, data);
  } catch (e) {
    return refuse(e);
  }
}

/** One member → its prepared vector and sidecar under the work folder. */
export async function runSimilarityPrepare(data: unknown, roots: Roots): Promise<PreparedInfo> {
  const p = parseOrRefuse('similarity-prepare', data) as SimilarityPreparePayload;
  let id: string;
  try {
    catalogueEntry(p.measure, 'representations');
    id = canonicalMeasureId(p.measure);
  } catch (e) {
    return refuse(e);
  }
  const set = await roots.existing(p.featureSet, 'feature set').catch(refuse);
  const st = await stat(set);
  if (st.isDirectory()) {
    let file: string;
    try {
      file = pathInside(set, `${p.label}.npy`, 'member label');
    } catch (e) {
      return refuse(e);
    }
    await roots.existing(file, 'feature file').catch(refuse);
  }
  const config = parseMeasure(id);
  const out = await roots.writable(preparedFile(p.work, p.key, isPairwise(config)), 'prepared vector').catch(refuse);
  const rep = (await loadFeatureSet(set, { keys: [p.label] })).members[0];
  const engine = await getGemmEngine(p.engine);
  const digest = { n: rep.n, imagesDigest: rep.images ? sha(rep.images) : null, ...(rep.imagesFrom ? { imagesFrom: rep.imagesFrom } : {}) };
  if (isPairwise(config)) {
    const bytes = serialize(await preparePairwiseForm(rep, config, { engine, precision: p.precision }));
    const info: PreparedInfo = { label: p.label, kind: 'pairwise', length: bytes.length, ...digest };
    await writeFileAtomic(out, bytes);
    await writeFileAtomic(out.replace(/\.v8$/, '.json'), JSON.stringify(info));
    return info;
  }
  const prepared = await prepareRepresentation(rep, pipelineOf(config), { engine, precision: p.precision });
  const values = prepared.kind === 'unit' ? prepared.vector : prepared.triangle;
  const info: PreparedInfo = {
    label: p.label,
    kind: prepared.kind,
    length: values.length,
    ...digest,
  };
  await writeFileAtomic(out, writeNpy({ dtype: 'float64', shape: [values.length], data: values }));
  await writeFileAtomic(out.replace(/\.npy$/, '.json'), JSON.stringify(info));
  return info;
}

/** Inner products of two stacks of prepared vectors → one block of the matrix. */
export async function runSimilarityBlock(data: unknown, roots: Roots): Promise<{ rows: number; cols: number }> {
  const p = parseOrRefuse('similarity-block', data) as SimilarityBlockPayload;
  const out = await roots.writable(join(p.work, 'blocks', p.run, `${p.block}.npy`), 'block output').catch(refuse);
  const load = async (keys: string[]) => {
    const vs: Float64Array[] = [];
    for (const key of keys) {
      const file = await roots.existing(join(p.work, 'prepared', `${key}.npy`), 'prepared vector').catch(refuse);
      const a = readNpy(await readFile(file), file);
      if (a.dtype !== 'float64' || a.shape.length !== 1) throw new Error(`${file}: not a prepared vector (float64, 1-d)`);
      vs.push(a.data as Float64Array);
    }
    return vs;
  };
  const rows = await load(p.rows);
  const cols = p.cols.join() === p.rows.join() ? rows : await load(p.cols);
  const m = rows[0].length;
  if ([...rows, ...cols].some((v) => v.length !== m)) throw new Error(`block ${p.block}: prepared vectors of different lengths`);
  let result: Float64Array;
  if (p.kind !== 'unit') {
    const correlation = triangleCorrelation(p.kind);
    result = new Float64Array(rows.length * cols.length);
    for (let i = 0; i < rows.length; i++) for (let j = 0; j < cols.length; j++) result[i * cols.length + j] = correlation(rows[i], cols[j]);
  } else {
    const stack = (vs: Float64Array[]) => {
      const s = new Float64Array(vs.length * m);
      vs.forEach((v, i) => s.set(v, i * m));
      return s;
    };
    const sa = stack(rows);
    const sb = cols === rows ? sa : stack(cols);
    result = await (await getGemmEngine(p.engine)).abt(sa, rows.length, sb, cols.length, m, 'float64');
  }
  await writeFileAtomic(out, writeNpy({ dtype: 'float64', shape: [rows.length, cols.length], data: result }));
  return { rows: rows.length, cols: cols.length };
}

/** A pairwise family's values for a block of members, compared pair by pair from their serialised prepared forms. */
export async function runSimilarityPairs(data: unknown, roots: Roots): Promise<{ rows: number; cols: number; pairs: number }> {
  const p = parseOrRefuse('similarity-pairs', data) as SimilarityPairsPayload;
  let config: PairwiseMeasureConfig;
  try {
    catalogueEntry(p.measure, 'representations');
    const c = parseMeasure(canonicalMeasureId(p.measure));
    if (!isPairwise(c)) throw new Error(`${p.measure} is not a pairwise measure; its blocks are similarity-block jobs`);
    config = c;
  } catch (e) {
    return refuse(e);
  }
  const out = await roots.writable(join(p.work, 'blocks', p.run, `${p.block}.npy`), 'block output').catch(refuse);
  // The forms were written by similarity-prepare jobs inside the roots; deserialising builds plain data only (no code runs).
  const load = async (keys: string[]) => {
    const forms: unknown[] = [];
    for (const key of keys) {
      const file = await roots.existing(preparedFile(p.work, key, true), 'prepared form').catch(refuse);
      forms.push(deserialize(await readFile(file)));
    }
    return forms;
  };
  const diagonal = p.rows.join() === p.cols.join();
  const rows = await load(p.rows);
  const cols = diagonal ? rows : await load(p.cols);
  const family = pairwiseFamilyOf(config);
  const { symmetric, self } = pairwiseShape(family, config.params);
  // Forms as one list: rows first, then cols (the same forms again in a diagonal block, which costs no copy).
  const jobs: PairJob[] = [];
  for (let i = 0; i < rows.length; i++) {
    for (let j = 0; j < cols.length; j++) {
      if (diagonal && ((symmetric && j < i) || (i === j && self !== undefined))) continue;
      jobs.push({ i, j: rows.length + j });
    }
  }
  const engine = await getGemmEngine(p.engine);
  const threads = drawThreads();
  const parallel = pairsInParallel(jobs.length, threads, engine);
  const forms = [...rows, ...cols].map((f) => (parallel ? shareArrays(f) : f));
  const values = await comparePairs(family, config, forms, jobs, { engine, precision: p.precision }, parallel ? threads : 1, (k, v) => {
    if (!Number.isFinite(v)) throw new Error(`${p.measure}: pair (${jobs[k].i}, ${jobs[k].j - rows.length}) of block ${p.block} gave ${v}`);
  });
  const result = new Float64Array(rows.length * cols.length);
  jobs.forEach(({ i, j }, k) => (result[i * cols.length + j - rows.length] = values[k]));
  await writeFileAtomic(out, writeNpy({ dtype: 'float64', shape: [rows.length, cols.length], data: result }));
  return { rows: rows.length, cols: cols.length, pairs: jobs.length };
}
