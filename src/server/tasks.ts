/**
 * The work the server hands to its worker processes (see workers.ts): reading uploaded or listed files, the
 * Taskonomy computations the routes answer inline (results info and matrix, AHP, one policy solve), and the
 * background jobs. Each task takes plain, structured-cloneable arguments (paths already resolved and checked by
 * the sandbox in the server process) and returns plain JSON, or JSON text where the answer can be large (so the
 * server process only forwards it); the library calls are the same the CLI makes. They run in a worker so that an
 * input that exhausts memory, recurses too deeply or never finishes takes down the worker, not the server, and
 * so that a long computation never delays the server's other answers (`/api/health` included).
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { loadFeatureSet } from '../features/featureSet.js';
import type { FeatureSet } from '../features/types.js';
import type { LabelledMatrix } from '../linalg/labelled.js';
import { writeFileAtomic } from '../io/atomic.js';
import { labelledMatrixFromCsv, labelledMatrixToJson } from '../io/labelledMatrix.js';
import { LimitError } from '../io/limits.js';
import { representationInfoOrNull } from '../ops/measures.js';
import { ahp, ahpBeforeAfter, ahpResultDicts, tournamentsFromText } from '../ops/ahp.js';
import { evaluateMatrix, evaluateMeasures, evaluateViaTransfers, type EvaluateOptions } from '../ops/evaluate.js';
import { solve, sweep, type PolicyProblem, type PolicyResult, type SolverChoice } from '../ops/policy.js';
import { describeResultDict, MAX_MATRIX_VIEW_CELLS, resultMatrix } from '../ops/results.js';
import { checkLabelsForScore, describeLabelsText, loadTarget, rank, rankAll, rankViaTransfers, rankWithLabels, type TargetSpec } from '../ops/rank.js';
import { renameTasks } from '../io/resultDict.js';
import { bootstrapOfSet, intervalsJson, permutationJson, permutationTestOfSet } from '../ops/inference.js';
import { similarityOfSet } from '../ops/similarity.js';
import { matrixDirection, taxonomyView } from '../ops/taxonomy.js';
import type { Linkage } from '../taxonomy/cluster.js';
import type { RankOptions } from '../taxonomy/rank.js';
import { csvKind, identifyFile, MAX_SNIFF_BYTES, type ResultEntry } from './catalog.js';
import { HttpError, toHttpError } from './errors.js';
import type { Progress } from './jobs.js';
import type { ResolvedPath, Sandbox } from './sandbox.js';
import { uniqueUploadPath } from './routes/uploads.js';
import type { Precision } from './schemas.js';
import { IN_PROCESS_READERS, type Store } from './store.js';

export interface TaskEnv {
  store: Store;
  sandbox: Sandbox;
  report: (p: Progress) => void;
}

/** What an upload was recognised as. */
export interface UploadKind {
  kind: 'featureSet' | ResultEntry['kind'] | 'labels';
  members?: string[];
  images?: number;
  /** Labels files: rows (a header row included, if any) and distinct labels. */
  rows?: number;
  distinct?: number;
}

async function similarityOf(env: TaskEnv, fs: ResolvedPath, measure: string, precision: Precision | undefined) {
  const loaded = await env.store.featureSet(fs);
  const { matrix: sim, measure: info } = await similarityOfSet(loaded.set, measure, {
    cache: loaded.cache,
    precision,
    onProgress: (done, total, label) => env.report({ done, total, label, stage: 'preparing models' }),
  });
  return { loaded, sim, info };
}

/** Bootstrap options of a similarity or taxonomy job (docs/measures.md#inference). */
export interface BootstrapArgs {
  draws: number;
  subset?: number;
  replacement?: boolean;
  seed?: number;
}

/** The bootstrap of a job's matrix, its full-data matrix reused; progress per draw. */
async function bootstrapOf(
  env: TaskEnv,
  loaded: { set: FeatureSet },
  measure: string,
  sim: LabelledMatrix,
  precision: Precision | undefined,
  b: BootstrapArgs,
) {
  env.report({ done: 0, total: b.draws, stage: 'bootstrap draws' });
  const { bootstrap } = await bootstrapOfSet(loaded.set, measure, {
    ...b,
    precision,
    point: sim,
    onProgress: (done, total, label) => env.report({ done, total, label, stage: 'bootstrap draws' }),
  });
  return bootstrap;
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
      tournamentsFromText(text, 'losses', name);
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

/** The result dict files of a policy problem, resolved by the server. */
export interface PolicyFiles {
  affinities: ResolvedPath;
  winsVsPixels?: ResolvedPath;
  winsVsTask?: ResolvedPath;
}

/** A policy problem's options: the library's PolicyProblem without its dicts (the worker loads them from PolicyFiles). */
export type PolicyOptions = Omit<PolicyProblem, 'affinities' | 'winsVsPixels' | 'winsVsTask'>;

/** The library's problem-size refusal, naming the file it came from when it does not already. */
function namingFile(e: unknown, ref: string): unknown {
  if (e instanceof LimitError && !e.message.includes(ref)) {
    const named = new LimitError(`${ref}: ${e.message}`);
    named.stack = e.stack;
    return named;
  }
  return e;
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

  /** An uploaded labels file (`?kind=labels`): one label per line or "image,label" rows. */
  async readLabels(a: { tmp: string; name: string }): Promise<UploadKind> {
    try {
      return { kind: 'labels', ...describeLabelsText(await readFile(a.tmp, 'utf8'), a.name) };
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

  /** The server's Store reads result dicts, matrices and tournaments here, out of its own process (app.ts). */
  readResultDict(a: { abs: string; ref: string }) {
    return IN_PROCESS_READERS.resultDict(a.abs, a.ref);
  },
  readMatrix(a: { abs: string; ref: string }) {
    return IN_PROCESS_READERS.matrix(a.abs, a.ref);
  },
  readTournaments(a: { abs: string; ref: string }) {
    return IN_PROCESS_READERS.tournaments(a.abs, a.ref);
  },

  /** The catalog's recogniser, for files under the data roots. */
  identify(a: { abs: string; size: number }) {
    return identifyFile(a.abs, a.size);
  },

  /** `GET /api/results/info`: what a result dict holds and the policy's default roles. */
  async resultsInfo(a: { path: ResolvedPath }, env: TaskEnv) {
    const dict = await env.store.resultDict(a.path);
    try {
      return { path: a.path.ref, ...describeResultDict(dict) };
    } catch (e) {
      throw namingFile(e, a.path.ref);
    }
  },

  /**
   * `POST /api/results/matrix` as JSON text: the first-order matrix of a result dict, refused (413, naming the
   * file and the size) past MAX_MATRIX_VIEW_CELLS.
   */
  async resultsMatrix(a: { path: ResolvedPath; sources?: string[]; targets?: string[] }, env: TaskEnv): Promise<string> {
    const dict = await env.store.resultDict(a.path);
    const m = resultMatrix(dict, { sources: a.sources, targets: a.targets, name: a.path.ref, maxCells: MAX_MATRIX_VIEW_CELLS });
    return JSON.stringify({ path: a.path.ref, ...labelledMatrixToJson(m) });
  },

  /**
   * `POST /api/ahp` as JSON text: tournaments → AHP affinities, consistency, Gain and Quality, the before / after
   * matrices; with `save`, the result dicts written to the writable root `saveRoot` first (their paths in `saved`).
   */
  async ahp(
    a: { tournaments: ResolvedPath; clip?: [number, number]; exclude?: string[]; save?: { root: string; base: string } },
    env: TaskEnv,
  ): Promise<string> {
    const tournaments = await env.store.tournamentsOf(a.tournaments);
    let r: ReturnType<typeof ahp>;
    let view: ReturnType<typeof ahpBeforeAfter>;
    try {
      r = ahp(tournaments, { clip: a.clip, exclude: a.exclude });
      view = ahpBeforeAfter(r);
    } catch (e) {
      throw namingFile(e, a.tournaments.ref);
    }
    const { before, after } = view;
    const out: Record<string, unknown> = {
      tournaments: a.tournaments.ref,
      targets: tournaments.length,
      consistency: r.consistency,
      affinities: r.affinities,
      winsVsPixels: r.winsVsPixels,
      winsVsTask: r.winsVsTask,
      before: before ? { baseline: before.baseline, ...labelledMatrixToJson(before.matrix) } : null,
      after: labelledMatrixToJson(after),
    };
    if (a.save) {
      const saved: Record<string, string> = {};
      for (const { role, dict } of ahpResultDicts(r)) {
        const name = `${a.save.base}${role === 'affinities' ? '-affinities' : `-${role}`}.json`;
        const target = await uniqueUploadPath({ sandbox: env.sandbox }, a.save.root, name);
        await writeFileAtomic(target.abs, `${JSON.stringify(dict, null, 1)}\n`);
        saved[role] = target.ref;
      }
      out.saved = saved;
    }
    return JSON.stringify(out);
  },

  /** `POST /api/policy`: one solve, the dicts loaded (and kept) by this worker's store. */
  async policy(a: { files: PolicyFiles; options: PolicyOptions; solver?: SolverChoice; timeLimit: number }, env: TaskEnv): Promise<PolicyResult> {
    const [affinities, winsVsPixels, winsVsTask] = await Promise.all([
      env.store.resultDict(a.files.affinities),
      a.files.winsVsPixels && env.store.resultDict(a.files.winsVsPixels),
      a.files.winsVsTask && env.store.resultDict(a.files.winsVsTask),
    ]);
    const problem: PolicyProblem = { ...a.options, affinities };
    if (winsVsPixels) problem.winsVsPixels = winsVsPixels;
    if (winsVsTask) problem.winsVsTask = winsVsTask;
    try {
      return await solve(problem, { solver: a.solver, timeLimit: a.timeLimit });
    } catch (e) {
      throw namingFile(e, a.files.affinities.ref);
    }
  },

  async similarity(a: { fs: ResolvedPath; measure: string; precision?: Precision; bootstrap?: BootstrapArgs }, env: TaskEnv) {
    const { loaded, sim, info } = await similarityOf(env, a.fs, a.measure, a.precision);
    const boot = a.bootstrap && (await bootstrapOf(env, loaded, info.id, sim, a.precision, a.bootstrap));
    return {
      featureSet: a.fs.ref,
      images: loaded.set.n,
      measure: info,
      matrix: labelledMatrixToJson(sim),
      families: loaded.families,
      ...(boot ? { intervals: intervalsJson(boot) } : {}),
    };
  },

  async permutation(a: { fs: ResolvedPath; measure: string; a: string; b: string; permutations: number; seed?: number; precision?: Precision }, env: TaskEnv) {
    const loaded = await env.store.featureSet(a.fs);
    env.report({ done: 0, total: a.permutations, stage: 'permutations' });
    const { test, measure } = await permutationTestOfSet(loaded.set, a.measure, a.a, a.b, {
      permutations: a.permutations,
      seed: a.seed,
      precision: a.precision,
      onProgress: (done, total, label) => env.report({ done, total, label, stage: 'permutations' }),
    });
    // The measure's description in place of its bare id, as the similarity job answers.
    return { featureSet: a.fs.ref, ...permutationJson(test), measure };
  },

  async taxonomyOfFeatures(
    a: { fs: ResolvedPath; measure: string; precision?: Precision; linkage: Linkage; clusters?: number; bootstrap?: BootstrapArgs },
    env: TaskEnv,
  ) {
    const { loaded, sim, info } = await similarityOf(env, a.fs, a.measure, a.precision);
    const boot = a.bootstrap && (await bootstrapOf(env, loaded, info.id, sim, a.precision, a.bootstrap));
    const view = taxonomyView(sim, {
      linkage: a.linkage,
      direction: matrixDirection(info.id),
      clusters: a.clusters,
      families: loaded.families,
      draws: boot?.matrices,
    });
    return {
      source: { featureSet: a.fs.ref } as { featureSet?: string; matrix?: string },
      images: loaded.set.n as number | undefined,
      measure: info,
      similarity: labelledMatrixToJson(sim),
      families: loaded.families,
      ...view,
      ...(boot ? { intervals: intervalsJson(boot) } : {}),
    };
  },

  async taxonomyOfMatrix(a: { matrix: ResolvedPath; linkage: Linkage; clusters?: number }, env: TaskEnv) {
    const m = await env.store.matrix(a.matrix);
    // The matrix's own measure id decides its direction (the measure catalogue answers, for representation and
    // Fisher task measures alike); a file without one, or with another tool's, is taken as a similarity.
    const info = representationInfoOrNull(m.measure);
    return {
      source: { matrix: a.matrix.ref },
      measure: info,
      similarity: labelledMatrixToJson(m),
      families: null,
      ...taxonomyView(m, { linkage: a.linkage, direction: matrixDirection(m.measure), clusters: a.clusters }),
    };
  },

  async rank(
    a: {
      fs: ResolvedPath;
      target: TargetSpec;
      measure: string;
      probabilities?: ResolvedPath;
      options: RankArgs;
      via?: ResolvedPath;
      aliases?: Record<string, string>;
      viaNeighbours?: number;
      /** The new task's labels beside the target, and the score to read them with. */
      labels?: { spec: Extract<TargetSpec, { kind: 'labels-file' }>; score: string };
    },
    env: TaskEnv,
  ) {
    // The dict first: a bad file fails before the similarity work.
    const transfers = a.via && renameTasks(await env.store.resultDict(a.via), a.aliases ?? {});
    const loaded = await env.store.featureSet(a.fs);
    const target = await loadTarget(a.target, loaded.set.n);
    const probabilities = a.probabilities && (await env.store.featureSet(a.probabilities)).set.members;
    // The labels are read and checked for the score before the similarity work, so a bad file fails at once.
    const labels = a.labels && (await loadTarget(a.labels.spec, loaded.set.n));
    if (labels && labels.kind !== 'labels') throw new Error('labelsFile: not read as labels');
    if (labels) checkLabelsForScore(labels, loaded.set.n, a.labels!.score);
    const draws = a.options.bootstrap ?? 0;
    env.report({ done: 0, total: Math.max(1, draws), stage: draws ? 'bootstrap draws' : 'scoring' });
    const { result, measureName } = await rank(loaded.set.members, target, {
      ...a.options,
      measure: a.measure,
      probabilities,
      onProgress: (done, total) => env.report({ done, total, stage: 'bootstrap draws' }),
    });
    const viaTransfers = transfers && {
      affinities: a.via!.ref,
      ...rankViaTransfers(result, transfers, { name: a.via!.ref, separator: a.options.separator, neighbours: a.viaNeighbours }),
    };
    const withLabels = labels && (await rankWithLabels(loaded.set.members, result, labels, { ...a.options, probabilities, score: a.labels!.score }));
    return {
      featureSet: a.fs.ref,
      families: loaded.families,
      measureName,
      ...result,
      ...(viaTransfers ? { viaTransfers } : {}),
      ...(withLabels ? { withLabels } : {}),
    };
  },

  /** The score table (`measure: "all"`): every standard score, rsa and dds side by side, with their wall times. */
  async rankTable(a: { fs: ResolvedPath; target: TargetSpec; probabilities?: ResolvedPath; sortBy?: string; options: RankArgs }, env: TaskEnv) {
    const loaded = await env.store.featureSet(a.fs);
    const target = await loadTarget(a.target, loaded.set.n);
    const probabilities = a.probabilities && (await env.store.featureSet(a.probabilities)).set.members;
    const table = await rankAll(loaded.set.members, target, {
      ...a.options,
      sortBy: a.sortBy,
      probabilities,
      onProgress: (done, total, label) => env.report({ done, total, label, stage: 'measures' }),
    });
    return { featureSet: a.fs.ref, families: loaded.families, ...table };
  },

  async evaluatePredicted(a: { predicted: ResolvedPath; truth: ResolvedPath; options: EvaluateOptions; viaNeighbours?: number }, env: TaskEnv) {
    const [predicted, truth] = await Promise.all([env.store.matrix(a.predicted), env.store.matrix(a.truth)]);
    const via = a.viaNeighbours === undefined ? undefined : evaluateViaTransfers(predicted, truth, { ...a.options, neighbours: a.viaNeighbours });
    return { predicted: a.predicted.ref, truth: a.truth.ref, ...evaluateMatrix(predicted, truth, a.options), ...(via ? { viaTransfers: via } : {}) };
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
    return sweep(a.problem, a.budgets, {
      solver: a.solver,
      timeLimit: a.timeLimit,
      onBudget: (done, total, budget) => env.report({ done, total, ...(budget === undefined ? {} : { label: `budget ${budget}` }), stage: 'solving' }),
    });
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
