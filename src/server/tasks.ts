/**
 * The work the server hands to its worker threads (see workers.ts): reading uploaded or listed files, and the
 * background jobs. Each task takes plain, structured-cloneable arguments (paths already resolved and checked by
 * the sandbox on the main thread) and returns plain JSON; the library calls are the same the CLI makes. They run
 * in a worker so that an input that exhausts memory, recurses too deeply or never finishes takes down the worker,
 * not the server.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { evaluatePrediction, type EvaluateOptions } from '../evaluate/evaluate.js';
import { evaluateMeasures } from '../evaluate/harness.js';
import { loadFeatureSet } from '../features/featureSet.js';
import { labelledMatrixFromCsv, labelledMatrixToJson } from '../io/labelledMatrix.js';
import type { LabelledMatrix } from '../linalg/labelled.js';
import { describeMeasure, type MeasureInfo } from '../measures/registry.js';
import { similarityMatrix } from '../measures/similarity.js';
import {
  budgetSweep,
  buildPolicyModel,
  chooseSolver,
  type PolicyProblem,
  type PolicyResult,
  type SolverChoice,
  type SweepRow,
} from '../taskonomy/policy.js';
import { parseLossCsv, tournamentsFromLosses } from '../taskonomy/winrates.js';
import { cutTree, leafOrder, linkage, similarityToDistance, toNewick, toTree, type Linkage } from '../taxonomy/cluster.js';
import { classicalMds } from '../taxonomy/mds.js';
import { rankSources, type RankOptions } from '../taxonomy/rank.js';
import { csvKind, identifyFile, MAX_SNIFF_BYTES, type ResultEntry } from './catalog.js';
import { HttpError, toHttpError } from './errors.js';
import type { Progress } from './jobs.js';
import type { ResolvedPath, Sandbox } from './sandbox.js';
import type { Precision } from './schemas.js';
import type { Store } from './store.js';

export interface TaskEnv {
  store: Store;
  sandbox: Sandbox;
  report: (p: Progress) => void;
}

/** What an upload was recognised as. */
export interface UploadKind {
  kind: 'featureSet' | ResultEntry['kind'];
  members?: string[];
  images?: number;
}

async function similarityOf(env: TaskEnv, fs: ResolvedPath, measure: string, precision: Precision | undefined) {
  const loaded = await env.store.featureSet(fs);
  const sim = await similarityMatrix(loaded.set, measure, {
    cache: loaded.cache,
    precision,
    onProgress: (done, total, label) => env.report({ done, total, label, stage: 'preparing models' }),
  });
  return { loaded, sim };
}

/**
 * Tree, leaf order, flat clusters and a 2-D classical MDS map of a similarity (or distance) matrix; distances
 * are 1 − similarity, as in the CLI's `taxonomy --similarity`.
 */
function taxonomyOf(sim: LabelledMatrix, isDistance: boolean, method: Linkage, k: number | undefined, families: Record<string, string> | null) {
  const n = sim.rows.length;
  if (n < 2) throw new Error(`a taxonomy needs at least 2 items, got ${n}`);
  if (sim.rows.some((r, i) => r !== sim.cols[i])) throw new Error('a square matrix with the same row and column labels is needed for a taxonomy');
  const distances = isDistance ? sim.matrix : similarityToDistance(sim.matrix, sim.rows);
  const tree = linkage(distances, method, sim.rows);
  const familyCount = families ? new Set(sim.rows.map((l) => families[l]).filter(Boolean)).size : 0;
  const clusters = Math.min(n, k ?? (familyCount >= 2 ? familyCount : Math.min(3, n)));
  const mds = classicalMds(distances, Math.min(2, n));
  const labels = cutTree(tree, clusters);
  const top = Math.abs(mds.eigenvalues[0]);
  return {
    labels: sim.rows,
    linkage: method,
    distance: isDistance ? 'given' : '1 - similarity',
    merges: tree.merges,
    tree: toTree(tree),
    newick: toNewick(tree),
    leafOrder: leafOrder(tree).map((i) => sim.rows[i]),
    k: clusters,
    clusters: Object.fromEntries(sim.rows.map((l, i) => [l, labels[i]])),
    mds: {
      coords: Object.fromEntries(sim.rows.map((l, i) => [l, Array.from(mds.coords.data.subarray(i * mds.coords.cols, (i + 1) * mds.coords.cols))])),
      explained: mds.explained,
      negativeEigenvalues: Array.from(mds.eigenvalues).filter((v) => v < -1e-9 * top).length,
    },
  };
}

/** The policy solver's `auto` choice lives in the library (taskonomy/policySolvers.ts). */
export { chooseSolver, enumerationWork, type SolverChoice } from '../taskonomy/policy.js';

type RankArgs = Pick<RankOptions, 'bootstrap' | 'subset' | 'seed' | 'groupBy' | 'separator' | 'precision'>;

/** Load an uploaded file with the reader that will use it; `name` is how the client named it. */
async function readUpload(tmp: string, name: string): Promise<UploadKind> {
  const ext = extname(name).toLowerCase();
  if (ext === '.npy' || ext === '.npz' || ext === '.safetensors') {
    const set = await loadFeatureSet(tmp);
    return { kind: 'featureSet', members: set.members.map((m) => m.label), images: set.n };
  }
  if (ext === '.csv') {
    // Listings only read a CSV's header; an upload is read in full, by the reader that will load it.
    const text = await readFile(tmp, 'utf8');
    if (csvKind(text.slice(0, 256)) === 'losses') {
      tournamentsFromLosses(parseLossCsv(text, name), name);
      return { kind: 'losses' };
    }
    labelledMatrixFromCsv(text, name);
    return { kind: 'matrix' };
  }
  const { size } = await stat(tmp);
  // Larger files are listed without being parsed, so an upload that large could never be checked here.
  if (size > MAX_SNIFF_BYTES)
    throw new HttpError(413, 'too_large', `${name}: result dicts and JSON files larger than ${MAX_SNIFF_BYTES / 1048576} MiB are not accepted`);
  const entry = await identifyFile(tmp, size);
  if (!entry)
    throw new HttpError(
      422,
      'unprocessable',
      `${name}: not an input the API reads (manifests and .labels.json / .families.json sidecars are read beside their data, not uploaded alone)`,
    );
  return { kind: entry.kind };
}

/** Every task by name: (arguments, environment) → JSON result. */
export const tasks = {
  /** One uploaded file. Any refusal becomes a 422 naming the file with the reader's reason. */
  async readUpload(a: { tmp: string; name: string }): Promise<UploadKind> {
    try {
      return await readUpload(a.tmp, a.name);
    } catch (e) {
      throw asUploadError(e, a.name, [[a.tmp, a.name]]);
    }
  },

  /** Several uploaded .npy files, one feature-set folder; `ref` is the name the folder will have. */
  async readNpyFolder(a: { dir: string; ref: string }): Promise<{ members: string[]; images: number }> {
    try {
      const set = await loadFeatureSet(a.dir);
      return { members: set.members.map((m) => m.label), images: set.n };
    } catch (e) {
      throw asUploadError(e, a.ref, [[a.dir, a.ref]]);
    }
  },

  /** The catalog's recogniser, for files under the data roots. */
  identify(a: { abs: string; size: number }) {
    return identifyFile(a.abs, a.size);
  },

  async similarity(a: { fs: ResolvedPath; measure: string; precision?: Precision }, env: TaskEnv) {
    const { loaded, sim } = await similarityOf(env, a.fs, a.measure, a.precision);
    return {
      featureSet: a.fs.ref,
      images: loaded.set.n,
      measure: describeMeasure(a.measure),
      matrix: labelledMatrixToJson(sim),
      families: loaded.families,
    };
  },

  async taxonomyOfFeatures(a: { fs: ResolvedPath; measure: string; precision?: Precision; linkage: Linkage; clusters?: number }, env: TaskEnv) {
    const { loaded, sim } = await similarityOf(env, a.fs, a.measure, a.precision);
    const info = describeMeasure(a.measure);
    return {
      source: { featureSet: a.fs.ref } as { featureSet?: string; matrix?: string },
      images: loaded.set.n as number | undefined,
      measure: info,
      similarity: labelledMatrixToJson(sim),
      families: loaded.families,
      ...taxonomyOf(sim, !info.largerIsMoreSimilar, a.linkage, a.clusters, loaded.families),
    };
  },

  async taxonomyOfMatrix(a: { matrix: ResolvedPath; linkage: Linkage; clusters?: number }, env: TaskEnv) {
    const m = await env.store.matrix(a.matrix);
    // The matrix's own measure id decides its direction; a file without one is taken as a similarity.
    let info: MeasureInfo | null = null;
    try {
      if (m.measure !== undefined) info = describeMeasure(m.measure);
    } catch {
      // another tool's id: not in our registry
    }
    return {
      source: { matrix: a.matrix.ref },
      measure: info,
      similarity: labelledMatrixToJson(m),
      families: null,
      ...taxonomyOf(m, info ? !info.largerIsMoreSimilar : false, a.linkage, a.clusters, null),
    };
  },

  async rank(a: { fs: ResolvedPath; target: string; measure: string; options: RankArgs }, env: TaskEnv) {
    const loaded = await env.store.featureSet(a.fs);
    const draws = a.options.bootstrap ?? 0;
    env.report({ done: 0, total: Math.max(1, draws), stage: draws ? 'bootstrap draws' : 'scoring' });
    const result = await rankSources(
      loaded.set.members,
      { kind: 'member', label: a.target },
      { ...a.options, measure: a.measure, onProgress: (done, total) => env.report({ done, total, stage: 'bootstrap draws' }) },
    );
    return { featureSet: a.fs.ref, families: loaded.families, ...result };
  },

  async evaluatePredicted(a: { predicted: ResolvedPath; truth: ResolvedPath; options: EvaluateOptions }, env: TaskEnv) {
    const [predicted, truth] = await Promise.all([env.store.matrix(a.predicted), env.store.matrix(a.truth)]);
    return { predicted: a.predicted.ref, truth: a.truth.ref, ...evaluatePrediction(predicted, truth, a.options) };
  },

  async evaluateMeasures(a: { fs: ResolvedPath; truth: ResolvedPath; measures: string[]; precision?: Precision; options: EvaluateOptions }, env: TaskEnv) {
    const [loaded, truth] = await Promise.all([env.store.featureSet(a.fs), env.store.matrix(a.truth)]);
    env.report({ done: 0, total: a.measures.length, stage: 'measures' });
    const out = await evaluateMeasures(loaded.set, truth, a.measures, {
      ...a.options,
      cache: loaded.cache,
      precision: a.precision,
      onMeasure: (done, total, label) => env.report({ done, total, label, stage: 'measures' }),
    });
    return { featureSet: a.fs.ref, truth: a.truth.ref, ...out };
  },

  async sweep(a: { problem: PolicyProblem; budgets: number[]; solver?: SolverChoice; timeLimit: number }, env: TaskEnv) {
    const rows: SweepRow[] = [];
    const results: PolicyResult[] = [];
    // One budget per call, so progress can be reported between solves.
    for (let i = 0; i < a.budgets.length; i++) {
      env.report({ done: i, total: a.budgets.length, label: `budget ${a.budgets[i]}`, stage: 'solving' });
      const solver = chooseSolver(buildPolicyModel({ ...a.problem, budget: a.budgets[i] }), a.solver);
      const one = await budgetSweep(a.problem, [a.budgets[i]], { solver, timeLimit: a.timeLimit });
      rows.push(...one.rows);
      results.push(...one.results);
    }
    env.report({ done: a.budgets.length, total: a.budgets.length, stage: 'solving' });
    return { sweep: rows, policies: results };
  },
} satisfies Record<string, (args: never, env: TaskEnv) => Promise<unknown>>;

export type Tasks = typeof tasks;
export type TaskName = keyof Tasks;
export type TaskArgs<K extends TaskName> = Parameters<Tasks[K]>[0];
export type TaskResult<K extends TaskName> = Awaited<ReturnType<Tasks[K]>>;

/**
 * An upload's refusal as a 422 that names the file as the client did (temporary paths replaced), with the
 * reader's reason; the HTTP errors the readers' checks chose (413, 415) keep their status.
 */
function asUploadError(e: unknown, name: string, replace: [string, string][]): HttpError {
  const rename = (m: string) => replace.reduce((acc, [from, to]) => acc.split(from).join(to), m);
  const { status, body } = toHttpError(e);
  // A reader's bug provoked by a hostile file is still that file's refusal: keep its message, as a 422.
  const message = rename(status >= 500 ? (e instanceof Error ? e.message : String(e)) : body.error.message);
  return new HttpError(
    status >= 500 ? 422 : status,
    status >= 500 ? 'unprocessable' : body.error.code,
    message.includes(basename(name)) ? message : `${name}: ${message}`,
  );
}
