/**
 * `taskmap benchmark taskbank` end to end (docs/taskbank.md): the crop pool (taskbank/pool.ts) → the teachers'
 * targets (taskbank/teacherJobs.ts) → one network per task (taskbank/train.ts) → every transfer s → t as a fresh
 * readout on s's frozen encoder (taskbank/readout.ts) with per-image test losses → the encoders' features on the
 * probe crops → the measured Taskonomy and the measures judged against it (./taskbankEval.ts). The report files are
 * written by src/report/taskbankReport.ts.
 *
 * Every stage is cached under `$TASKMAP_CACHE/taskbank/bank-<key>/`, keyed by the pool and the settings, so an
 * interrupted run resumes (training checkpoints after each epoch; a readout's losses are written as soon as it is
 * done) and a re-run recomputes only the evaluation.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { stageTimer } from '../util/timing.js';
import type { LossRecord } from '../taskonomy/winrates.js';
import { renameTasks } from '../io/resultDict.js';
import { canonicalMeasureId } from '../measures/registry.js';
import { findScoreFamily, parseScore, scoreId } from '../measures/scoreFamilies.js';
import { isScoreId } from '../taxonomy/scoreColumns.js';
import { BANK_AFFINITIES, BANK_MANIFEST, bankModelId, type BankManifest, type BankFamily } from '../models/zoo.js';
import { runBankJobs, type BankJob, type BankJobResult } from '../taskbank/jobs.js';
import { ENCODER_WIDTHS, featureShape } from '../taskbank/network.js';
import { defaultTaskbankCacheDir, POOL_SPLITS, ensureCropPool, type CropPool, type PoolPreset, type PoolSplit, type SplitFractions } from '../taskbank/pool.js';
import { DEFAULT_TEACHER_TRAIN_CROPS, ensureTeacherTargets } from '../taskbank/teacherJobs.js';
import { TASKS, taskDefinition } from '../taskbank/tasks.js';
import { hasLabelScore } from '../taskbank/labelTargets.js';
import { TRAIN_DEFAULTS, type TaskTrainSettings } from '../taskbank/train.js';
import { READOUT_DEFAULTS, type ReadoutSettings } from '../taskbank/readout.js';
import { checkTasks, evaluateTaskbank, TASKBANK_MEASURES, type ProbeFeatures, type TaskbankEvaluation } from './taskbankEval.js';

/** The label scores judged in a run (which labelled crops; how they are read: labelTargets.ts). */
export interface LabelScoreSettings {
  /** Canonical ids: transferability scores and similarity measures against the labels (labelScoreId). */
  scores: string[];
  /** Labelled transfer crops per target (spread evenly). */
  labelled: number;
}

/**
 * The label scores of a run unless asked otherwise: LogME, the one transferability score that reads every task's
 * labels (maps, classes, distributions), and linear CKA between the features and the labels — the same labels read
 * as a representation, with no readout fitted. On the committed banks CKA on the labels is below LogME, and the two
 * with ranks summed about level with LogME alone (docs/taskbank.md); it stays judged, so that the reports say so.
 */
export const LABEL_SCORE_DEFAULTS: Readonly<LabelScoreSettings> = { scores: ['logme', 'cka'], labelled: 250 };

/**
 * The canonical id of a label score the bank can judge: a transferability score that reads regression targets (the
 * maps, the class distribution) as well as classes — LogME — or any representation measure, which compares the
 * features with the labels as a representation. Anything else is an error naming why.
 */
export function labelScoreId(id: string): string {
  if (isScoreId(id)) {
    const config = parseScore(id);
    if (!findScoreFamily(config.family)?.taskTypes.includes('regression'))
      throw new Error(
        `${id} cannot read the bank's map targets (a regression); a transferability score that can: logme (or a similarity measure against the labels: cka, rsa, …)`,
      );
    return scoreId(config);
  }
  try {
    return canonicalMeasureId(id);
  } catch (e) {
    throw new Error(`label score "${id}": neither a transferability score that reads maps (logme) nor a similarity measure (${(e as Error).message})`, {
      cause: e,
    });
  }
}

/** A score id as a folder name of the cache (measure ids hold ':', '=' and ','). */
function scoreFolder(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** The baselines every target is also read from (Taskonomy's): the target's own input, and an untrained encoder. */
export const BANK_BASELINES = ['pixels', 'random'] as const;

export interface TaskbankBenchmarkOptions {
  /** Tasks of the bank (default: all of tasks.ts). */
  tasks?: string[];
  preset?: PoolPreset;
  /** Use the photographs of these folders instead of the packages (no download). */
  folders?: string[];
  /** Crop side (default the pool's, 64); a multiple of 8. */
  resolution?: number;
  /** Crops per part (default: the pool's). */
  counts?: Partial<Record<PoolSplit, number>>;
  /** Weights of the parts' shares of the photographs, each defaulting to DEFAULT_FRACTIONS' (pool.ts ensureCropPool). */
  fractions?: Partial<SplitFractions>;
  /** Training crops the teacher tasks train on (default DEFAULT_TEACHER_TRAIN_CROPS). */
  teacherTrainCrops?: number;
  train?: Partial<TaskTrainSettings>;
  /** Epochs of particular tasks, overriding train.epochs for them (e.g. the global tasks, which learn late). */
  taskEpochs?: Record<string, number>;
  readout?: Partial<ReadoutSettings>;
  /**
   * Readouts per transfer (default 1): repeat r is seeded `readout.seed + r` (its losses cached as `<source>-r<seed>.json`,
   * seed 0 as `<source>.json`), and a transfer's per-image loss is the mean over its repeats. On one bank, a second readout seed alone moved RSA's mean Spearman from 0.459 to 0.392 and
   * single near-tied targets by up to 0.7 (docs/taskbank.md): averaging repeats takes that noise out of the truth.
   */
  readoutRepeats?: number;
  /**
   * Decoupled weight decay of the readouts of the vector targets (rotation, jigsaw, content classes: a
   * 4,096 → 128 → K head fitted on the transfer crops, which overfits them; docs/taskbank.md). Default none. Those
   * readouts are cached apart, as `<source>-wd<λ>.json`, so the undecayed ones stay.
   */
  vectorReadoutDecay?: number;
  measures?: string[];
  /**
   * The label-based scores judged beside the measures (default LABEL_SCORE_DEFAULTS: LogME and CKA against the labels
   * on 250 labelled transfer crops); null for none. Each source's frozen features of the labelled crops against the target's labels
   * (taskbank/labelTargets.ts), the setting of a user with a new task and a few hundred labels.
   */
  labelScores?: LabelScoreSettings | null;
  /** Worker threads for the teachers, the training and the readouts (default 2). */
  workers?: number;
  seed?: number;
  /** Cache root (default $TASKMAP_CACHE); the bank's files go to its taskbank/ folder, beside the crop pool. */
  cacheDir?: string;
  /** Folders of .deb files instead of apt-get download (as taskbank images --debs). */
  debs?: string;
  onStage?: (stage: string, done: number, total: number, label: string) => void;
  log?: (message: string) => void;
}

export interface TaskbankRun {
  /** The bank's cache folder (networks, losses, features). */
  dir: string;
  pool: { dir: string; resolution: number; crops: Record<PoolSplit, number>; photos: number; photosPerPart: Record<PoolSplit, number> };
  tasks: { id: string; family: BankFamily; loss: string; trainCrops: number; history: { epoch: number; loss: number; seconds: number }[] }[];
  settings: {
    train: TaskTrainSettings;
    taskEpochs: Record<string, number>;
    readout: ReadoutSettings;
    readoutRepeats: number;
    /** The vector targets' readout weight decay, when one was set (TaskbankOptions.vectorReadoutDecay). */
    vectorReadoutDecay?: number;
    labelScores: LabelScoreSettings | null;
    teacherTrainCrops: number;
    seed: number;
    workers: number;
  };
  losses: LossRecord[];
  evaluation: TaskbankEvaluation;
  /** Wall seconds per stage. */
  timings: Record<string, number>;
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 12);
}

/**
 * The bank's cache folder: keyed by what the trained networks depend on (the crop pool, the tasks' training
 * settings, the distilled tasks' crop count, the seed, the architecture), so other readout settings reuse them.
 */
export function bankFolder(
  cacheRoot: string,
  poolDir: string,
  train: TaskTrainSettings,
  teacherTrainCrops: number,
  seed: number,
  taskEpochs: Record<string, number> = {},
): string {
  const { seed: _ignored, ...rest } = train;
  // Per-task epochs join the key only when given, so banks trained without them keep their folder.
  const epochs = Object.keys(taskEpochs).length ? { taskEpochs: Object.fromEntries(Object.entries(taskEpochs).sort()) } : {};
  return join(
    cacheRoot,
    'taskbank',
    `bank-${hashOf({ pool: basename(poolDir), train: rest, teacherTrainCrops, seed, widths: ENCODER_WIDTHS, version: 1, ...epochs })}`,
  );
}

/** A task's training seed: every task starts from its own initialisation, so shared weights cannot pass for a shared task. */
export function taskSeed(seed: number, taskIndex: number): number {
  return (seed + 1000 * (taskIndex + 1)) >>> 0;
}

/** The untrained encoder's seed (the `random` baseline): one no task uses. */
export function randomEncoderSeed(seed: number): number {
  return (seed + 999) >>> 0;
}

export async function runTaskbankBenchmark(opts: TaskbankBenchmarkOptions = {}): Promise<TaskbankRun> {
  const log = opts.log ?? (() => undefined);
  const stage = opts.onStage ?? (() => undefined);
  const timings: Record<string, number> = {};
  const time = stageTimer(timings);
  const seed = opts.seed ?? 0;
  const workers = opts.workers ?? 2;
  const tasks = (opts.tasks ?? TASKS.map((t) => t.id)).map((id) => taskDefinition(id));
  // What the evaluation will refuse is refused now, not after an hour of training.
  checkTasks(tasks.map((t) => ({ id: t.id, family: t.family })));
  const train: TaskTrainSettings = { ...TRAIN_DEFAULTS, ...opts.train };
  const taskEpochs = opts.taskEpochs ?? {};
  for (const [id, e] of Object.entries(taskEpochs)) {
    if (!tasks.some((t) => t.id === id)) throw new Error(`task epochs: "${id}" is not a task of this bank (${tasks.map((t) => t.id).join(', ')})`);
    if (!Number.isInteger(e) || e < 1) throw new Error(`task epochs: ${id} needs a positive whole number of epochs, got ${e}`);
  }
  const readout: ReadoutSettings = { ...READOUT_DEFAULTS, ...opts.readout };
  const repeats = opts.readoutRepeats ?? 1;
  const vectorDecay = opts.vectorReadoutDecay ?? 0;
  if (!(vectorDecay >= 0 && Number.isFinite(vectorDecay))) throw new Error(`vector readout decay must be a finite number ≥ 0, got ${opts.vectorReadoutDecay}`);
  const askedLabels = opts.labelScores === undefined ? LABEL_SCORE_DEFAULTS : opts.labelScores;
  if (askedLabels && (!Number.isInteger(askedLabels.labelled) || askedLabels.labelled < 1))
    throw new Error(`label scores: the labelled crops must be a positive whole number, got ${askedLabels.labelled}`);
  // Canonical, so that one score under two spellings shares its cached values.
  const labelScores = askedLabels ? { scores: [...new Set(askedLabels.scores.map(labelScoreId))], labelled: askedLabels.labelled } : null;
  if (labelScores && labelScores.scores.length === 0) throw new Error('label scores: name at least one (or none at all: null)');
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`readout repeats must be a positive whole number, got ${repeats}`);
  const teacherTrainCrops = opts.teacherTrainCrops ?? DEFAULT_TEACHER_TRAIN_CROPS;
  const cacheRoot = opts.cacheDir ?? defaultTaskbankCacheDir();
  const bankRoot = join(cacheRoot, 'taskbank');

  const pool: CropPool = await time('crops', () =>
    ensureCropPool({
      preset: opts.preset,
      folders: opts.folders,
      resolution: opts.resolution,
      counts: opts.counts,
      fractions: opts.fractions,
      seed,
      cacheDir: cacheRoot,
      apt: opts.debs ? { debs: opts.debs } : undefined,
      log,
    }),
  );
  const r = pool.manifest.resolution;
  const per = r * r * 3;
  const count = (part: PoolSplit) => pool.crops[part].length / per;

  const teacherTasks = tasks.filter((t) => t.kind === 'teacher').map((t) => t.id);
  // The jobs read the targets back from the teachers' cache; this stage fills it (two threads).
  if (teacherTasks.length)
    await time('teachers', () =>
      ensureTeacherTargets(pool, {
        cacheDir: join(bankRoot, 'teachers'),
        trainCrops: teacherTrainCrops,
        workers,
        tasks: teacherTasks,
        onJob: (j, d, n, cached) => stage('teachers', d, n, `${j.task} ${j.label}${cached ? ' (cached)' : ''}`),
      }),
    );

  const dir = bankFolder(cacheRoot, pool.dir, train, teacherTrainCrops, seed, taskEpochs);
  await mkdir(dir, { recursive: true });
  const common = { poolDir: pool.dir, resolution: r, teacherDir: join(bankRoot, 'teachers'), teacherTrainCrops };
  // A source of the readout and probe jobs: a trained network's folder, the untrained encoder's seed, or pixels.
  const sourceOf = (s: string) => ({
    source: s,
    sourceDir: (BANK_BASELINES as readonly string[]).includes(s) ? undefined : join(dir, 'networks', s),
    randomSeed: s === 'random' ? randomEncoderSeed(seed) : undefined,
  });

  // Stage 1: one network per task.
  const trainJobs: BankJob[] = tasks.map((t, i) => ({
    kind: 'train',
    task: t.id,
    dir: join(dir, 'networks', t.id),
    settings: { ...train, epochs: taskEpochs[t.id] ?? train.epochs, seed: taskSeed(seed, i) },
    ...common,
  }));
  const trained = await time('training', () => runBankJobs(trainJobs, { workers, onResult: (j, d, n) => stage('training', d, n, j.task) }));

  // Stage 2: every transfer (source encoders, the baselines) → target, and the networks' own test losses.
  const sources = [...tasks.map((t) => t.id), ...BANK_BASELINES];
  const transferJobs: BankJob[] = [];
  for (const t of tasks) {
    const decayed = vectorDecay > 0 && t.targetShape(r).length === 1;
    for (const s of sources)
      for (let k = 0; k < repeats; k++) {
        const seedR = readout.seed + k;
        // Named by the readout seed (and a decay), so that readouts of other settings never replace each other's
        // files; seed 0's keep the name of the single default readout, whose cache then serves every run that has it.
        const name = `${s}${decayed ? `-wd${vectorDecay}` : ''}${seedR === 0 ? '' : `-r${seedR}`}.json`;
        transferJobs.push({
          kind: 'readout',
          task: t.id,
          ...sourceOf(s),
          out: join(dir, 'transfers', t.id, name),
          settings: { ...readout, seed: seedR, ...(decayed ? { weightDecay: vectorDecay } : {}) },
          ...common,
        });
      }
  }
  for (const t of tasks)
    transferJobs.push({ kind: 'self', task: t.id, sourceDir: join(dir, 'networks', t.id), out: join(dir, 'self', `${t.id}.json`), ...common });
  const transfers = await time('transfers', () =>
    runBankJobs(transferJobs, { workers, onResult: (j, d, n) => stage('transfers', d, n, `${j.source ?? 'self'} → ${j.task}`) }),
  );
  // Per (target, source): the per-image losses summed over the repeats, then divided by their count; with several
  // repeats, each repeat's losses too (self, not repeated, in every one), for the readouts' reliability.
  const summed = new Map<string, { target: string; source: string; sum: Float64Array; count: number }>();
  const byRepeat: LossRecord[][] = Array.from({ length: repeats > 1 ? repeats : 0 }, () => []);
  const records = (target: string, source: string, values: ArrayLike<number>, into: LossRecord[], divide = 1) => {
    for (let i = 0; i < values.length; i++) into.push({ target, source, image: String(i), loss: values[i] / divide });
  };
  for (const res of transfers) {
    const source = res.job.kind === 'self' ? 'self' : res.job.source!;
    const key = `${res.job.task}\u0000${source}`;
    const own = res.losses!;
    const entry = summed.get(key);
    if (!entry) summed.set(key, { target: res.job.task, source, sum: Float64Array.from(own), count: 1 });
    else {
      for (let i = 0; i < own.length; i++) entry.sum[i] += own[i];
      entry.count++;
    }
    if (res.job.kind === 'self') for (const into of byRepeat) records(res.job.task, source, own, into);
    else if (byRepeat.length) records(res.job.task, source, own, byRepeat[res.job.settings!.seed! - readout.seed]);
  }
  const losses: LossRecord[] = [];
  for (const { target, source, sum, count } of summed.values()) records(target, source, sum, losses, count);

  // Stage 3: the encoders' features on the probe crops.
  const probeJobs: BankJob[] = sources.map((s) => ({
    kind: 'probe',
    task: s,
    ...sourceOf(s),
    out: join(dir, 'probe', `${s}.npy`),
    ...common,
  }));
  const probes = await time('probe features', () => runBankJobs(probeJobs, { workers, onResult: (j, d, n) => stage('probe features', d, n, j.source!) }));
  const probeFeatures: Record<string, ProbeFeatures> = {};
  for (const p of probes) probeFeatures[p.job.source!] = { data: p.features!, n: count('probe'), d: p.features!.length / count('probe') };

  // Stage 4: the label score of every task encoder (its own included, for the self-kept protocol) on each target's labels.
  const labelled = labelScores
    ? await time('label scores', async () => {
        const { scores, labelled: n } = labelScores;
        const jobs: BankJob[] = scores.flatMap((score) =>
          tasks
            .filter((t) => hasLabelScore(t))
            .flatMap((t) =>
              tasks.map((s) => ({
                kind: 'label-score' as const,
                task: t.id,
                ...sourceOf(s.id),
                labelScore: { score, labelled: n },
                out: join(dir, 'labels', `${scoreFolder(score)}-${n}`, t.id, `${s.id}.json`),
                ...common,
              })),
            ),
        );
        const done = await runBankJobs(jobs, {
          workers,
          onResult: (j, d, k) => stage('label scores', d, k, `${j.labelScore!.score}: ${j.source} → ${j.task}`),
        });
        return scores.map((score) => {
          const values: Record<string, Record<string, number>> = {};
          for (const r of done) if (r.job.labelScore!.score === score) (values[r.job.task] ??= {})[r.job.source!] = r.value!;
          return { score, labelled: Math.min(n, count('transfer')), values };
        });
      })
    : undefined;

  const evaluation = await time('evaluation', () =>
    evaluateTaskbank({
      tasks: tasks.map((t) => ({ id: t.id, family: t.family })),
      losses,
      probeFeatures,
      measures: opts.measures ?? TASKBANK_MEASURES,
      labelScores: labelled,
      // Test image i is the i-th test crop: the bootstrap and the reliability halves draw its photograph.
      repeatLosses: byRepeat.length ? byRepeat : undefined,
      imageGroups: Object.fromEntries(pool.manifest.crops.test.map((box, i) => [String(i), pool.manifest.photos[box.photo].id])),
      onProgress: (s, d, n, l) => stage(s, d, n, l),
    }),
  );
  const [fh, fw, fc] = featureShape(r);
  log(`bank: ${tasks.length} tasks, encoder features ${fh}×${fw}×${fc}, cache ${dir}`);
  return {
    dir,
    pool: {
      dir: pool.dir,
      resolution: r,
      crops: { train: count('train'), transfer: count('transfer'), test: count('test'), probe: count('probe') },
      photos: pool.manifest.photos.length,
      photosPerPart: Object.fromEntries(POOL_SPLITS.map((p) => [p, pool.manifest.photos.filter((x) => x.split === p).length])) as Record<PoolSplit, number>,
    },
    tasks: tasks.map((t) => {
      const res = trained.find((x: BankJobResult) => x.job.task === t.id)!;
      return {
        id: t.id,
        family: t.family as BankFamily,
        loss: t.loss,
        trainCrops: t.kind === 'teacher' ? Math.min(teacherTrainCrops, count('train')) : count('train'),
        history: res.history ?? [],
      };
    }),
    settings: {
      train,
      taskEpochs,
      readout,
      readoutRepeats: repeats,
      ...(vectorDecay > 0 ? { vectorReadoutDecay: vectorDecay } : {}),
      labelScores,
      teacherTrainCrops,
      seed,
      workers,
    },
    losses,
    evaluation,
    timings,
  };
}

/**
 * Copy the trained encoders into `target` (the package's models/taskbank by default) with the manifest the zoo reads
 * (models/zoo.ts bankModels): each becomes the zoo model `bank-<task>`.
 */
export async function shipBank(run: TaskbankRun, target: string, extra: Record<string, unknown> = {}): Promise<string[]> {
  // Only a previous bank is ever replaced: a folder that exists, is not empty and holds no bank manifest is the
  // user's, and is refused rather than deleted. The new bank is built beside it and swapped in by renames.
  const present = await readdir(target).catch(() => undefined);
  if (present && present.length > 0 && !present.includes(BANK_MANIFEST))
    throw new Error(`--ship: ${target} is not empty and holds no ${BANK_MANIFEST}; give an empty or new folder, or a previous bank's`);
  const staging = `${target}.shipping-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const written: string[] = [];
  for (const t of run.tasks) {
    await cp(join(run.dir, 'networks', t.id, 'encoder'), join(staging, t.id), { recursive: true });
    written.push(join(t.id, 'model.json'));
  }
  const manifest: BankManifest = {
    resolution: run.pool.resolution,
    encoders: run.tasks.map((t) => ({
      task: t.id,
      family: t.family,
      description: taskDefinition(t.id).description,
      file: `${t.id}/model.json`,
      tap: `relu${ENCODER_WIDTHS.length}`,
      msPerImage: 2,
    })),
    training: { ...run.settings, tasks: run.tasks.map((t) => ({ id: t.id, trainCrops: t.trainCrops, history: t.history })) },
    ...extra,
  };
  await writeFileAtomic(join(staging, BANK_MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`);
  written.push(BANK_MANIFEST);
  const zooNames = Object.fromEntries(run.tasks.map((t) => [t.id, bankModelId(t.id)]));
  await writeFileAtomic(join(staging, BANK_AFFINITIES), `${JSON.stringify(renameTasks(run.evaluation.affinities, zooNames), null, 1)}\n`);
  written.push(BANK_AFFINITIES);
  const previous = `${target}.previous-${process.pid}`;
  if (present) await rename(target, previous);
  await rename(staging, target);
  if (present) await rm(previous, { recursive: true, force: true });
  return written;
}
