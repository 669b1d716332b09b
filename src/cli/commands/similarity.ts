import type { Command } from 'commander';
import { loadFeatureSet } from '../../features/featureSet.js';
import { readImagesList } from '../../features/imageIdentity.js';
import { writeLabelledMatrix } from '../../io/labelledMatrix.js';
import { getGemmEngine, type EngineKind, type Precision } from '../../linalg/gemm.js';
import { canonicalMeasureId, describeMeasure, FAMILIES } from '../../measures/registry.js';
import { similarityMatrix } from '../../measures/similarity.js';
import { progressBar } from '../progress.js';
import { formatMatrix } from '../table.js';
import { parseList, UsageError } from '../util.js';
import { addProbeOptions, type ProbeOptions } from './nsl.js';

export interface MeasureOptions {
  measure: string;
  norm?: string;
  kernel?: string;
  compare?: string;
  centering?: string;
  rdm?: string;
  shape?: string;
  layout?: string;
  groups?: string;
  t?: string;
  debiased?: boolean;
}

/** Merge `--measure` (a family or a full id) with the per-parameter flags into one canonical measure id. */
export function measureIdFromOptions(o: MeasureOptions): string {
  const extra: string[] = [];
  const add = (key: string, value: string | undefined) => {
    if (value !== undefined) extra.push(`${key}=${value}`);
  };
  add('norm', o.norm);
  add('kernel', o.kernel);
  add('compare', o.compare);
  add('centering', o.centering);
  add('rdm', o.rdm);
  if (o.shape !== undefined) {
    const dims = o.shape.split(/[,x×]/).map((s) => s.trim());
    if (dims.length !== 3) throw new UsageError(`--shape: expected H,W,C, got "${o.shape}"`);
    extra.push(`shape=${dims.join('x')}`);
  }
  add('layout', o.layout);
  add('groups', o.groups);
  add('t', o.t);
  if (o.debiased) extra.push('debiased');
  const base = o.measure.trim();
  const id = extra.length === 0 ? base : `${base}${base.includes(':') ? ',' : ':'}${extra.join(',')}`;
  return canonicalMeasureId(id);
}

export function addMeasureOptions(cmd: Command): Command {
  return cmd
    .option('-m, --measure <id>', 'measure family (rsa, dds, cka) or a full id such as dds:norm=znorm,kernel=lap (see `taskmap measures`)', 'rsa')
    .option('--norm <name>', 'DDS feature normalisation: none, centering, znorm, group_norm, instance_norm, layer_norm, batch_norm')
    .option('--kernel <name>', 'DDS f / CKA kernel: linear, rbf, lap, pearson, euclidean, cosine')
    .option('--compare <name>', 'DDS g: cka, spearman, pearson, cosine-triu, kendall (RSA: spearman, pearson, kendall)')
    .option('--centering <name>', 'matrix centring before g: unbiased, biased, none')
    .option('--rdm <distance>', 'RSA dissimilarity: correlation, euclidean, sqeuclidean, cosine')
    .option('--shape <H,W,C>', 'per-image tensor shape for group/instance/batch norm (default: the stored shape)')
    .option('--layout <NHWC|NCHW>', 'order of the flattened features for the tensor norms')
    .option('--groups <G>', 'channel groups for group_norm (default 2)')
    .option('--t <fraction>', 'RBF bandwidth as a fraction of the median squared distance (default 0.5)')
    .option('--debiased', 'CKA with the unbiased HSIC estimator');
}

const REPRESENTATION_FLAGS: [keyof MeasureOptions, string][] = [
  ['norm', '--norm'],
  ['kernel', '--kernel'],
  ['compare', '--compare'],
  ['centering', '--centering'],
  ['rdm', '--rdm'],
  ['shape', '--shape'],
  ['layout', '--layout'],
  ['groups', '--groups'],
  ['t', '--t'],
  ['debiased', '--debiased'],
];

/**
 * The task measure `--measure` names, or undefined for a representation measure. The task-measure module loads
 * TF.js, so it is imported only when the family is not a representation measure.
 */
async function taskMeasureOf(measure: string) {
  const family = measure.split(':')[0].trim();
  if (FAMILIES.some((f) => f.id === family)) return undefined;
  const { parseTaskMeasure, TASK_MEASURES } = await import('../../nsl/taskMeasures.js');
  if (!TASK_MEASURES.some((f) => f.id === family)) return undefined;
  try {
    return parseTaskMeasure(measure);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

type SimilarityOptions = MeasureOptions & ProbeOptions & { order?: string; imagesList?: string; out?: string; format?: string; precision: string; engine?: string };

function outputFormat(o: { out?: string; format?: string }): 'json' | 'csv' | 'npy' {
  const format = (o.format ?? o.out!.split('.').pop()) as 'json' | 'csv' | 'npy';
  if (!['json', 'csv', 'npy'].includes(format)) throw new UsageError(`--format must be json, csv or npy, got "${format}"`);
  return format;
}

/** `similarity <dir> --measure fisher-…`: Fisher task distances between the labelled data sets in `dir`. */
async function taskDistances(dir: string, measure: import('../../nsl/taskMeasures.js').TaskMeasureConfig, o: SimilarityOptions): Promise<void> {
  const given = REPRESENTATION_FLAGS.filter(([k]) => o[k] !== undefined && o[k] !== false).map(([, flag]) => flag);
  if (given.length > 0) throw new UsageError(`${given.join(', ')}: representation-measure options; ${measure.family} is a task measure (see the Fisher options in --help)`);
  const { taskMeasureId } = await import('../../nsl/taskMeasures.js');
  const { loadLabelledTasks } = await import('../../nsl/labelledData.js');
  const { embedTasks, probeTrainConfig } = await import('./nsl.js');
  const id = taskMeasureId(measure);
  const format = o.out ? outputFormat(o) : undefined;
  const config = await probeTrainConfig(o);
  let tasks = await loadLabelledTasks(dir);
  const order = parseList(o.order, '--order');
  if (order) {
    const missing = order.filter((n) => !tasks.some((t) => t.name === n));
    if (missing.length > 0) throw new UsageError(`--order: no task ${missing.map((n) => `"${n}"`).join(', ')} in ${dir} (tasks: ${tasks.map((t) => t.name).join(', ')})`);
    tasks = order.map((n) => tasks.find((t) => t.name === n)!);
  }
  const t0 = performance.now();
  // The Fisher is estimated on the images the probe was trained on (a labelled data set has no test split).
  const { matrix } = await embedTasks(
    tasks.map((t) => ({ name: t.name, train: t.data, probe: t.data })),
    measure,
    config,
    (t, emb) => process.stderr.write(`${t.name}: ${t.train.n} images, ${t.train.numClasses} classes; probe train accuracy ${(100 * emb.trainAccuracy).toFixed(1)} %\n`),
  );
  const ms = performance.now() - t0;
  if (o.out) {
    await writeLabelledMatrix(o.out, matrix, format);
    process.stderr.write(`${id} (a distance: smaller = more similar): ${tasks.length} tasks in ${ms.toFixed(0)} ms → ${o.out}\n`);
  } else {
    process.stdout.write(`${id} (${tasks.length} tasks; a distance: rows = source, columns = target, smaller = more similar)\n${formatMatrix(matrix, 4)}\n`);
  }
}

export function register(program: Command): void {
  addProbeOptions(
    addMeasureOptions(
      program
        .command('similarity')
        .summary('similarity matrix of all models in a feature set (or Fisher distances between labelled data sets)')
        .description(
          [
            'Compute the M×M similarity matrix of the models (or model/layer entries) in a feature set: a directory',
            'of .npy files, one .npz or one .safetensors file, each entry n_images × features on the same images.',
            '',
            'Task measures: with --measure fisher-logdet[:floor=1e-10,reduce=element|first-axis] or',
            'fisher-frechet[:reduce=…] the argument is a directory of labelled data sets, one NAME.npz per task with',
            'x (N×H×W or N×H×W×C; uint8 0–255 or float 0–1) and y (N integer labels, ≥ 2 classes), all tasks of one',
            'image shape. Each task is embedded by the diagonal Fisher of a probe network trained on it from a shared',
            'initialisation (the --variant/--epochs/--batch/--lr/--seed/--width-scale… options, as for',
            '`taskmap nsl fisher`), and the output is a task-DISTANCE matrix (rows = source, columns = target;',
            'smaller = more similar; log-det is not symmetric). Pass it to `taskmap taxonomy --dissimilarity`.',
            '',
            'Example:',
            '  taskmap similarity tasks/ --measure fisher-logdet --epochs 2 --out fisher.json',
          ].join('\n'),
        )
        .argument('<featureset>', 'directory of .npy files, a .npz or a .safetensors file (task measures: directory of labelled .npz)'),
    )
      .option('--order <labels>', 'comma-separated labels: order (and subset) of the matrix rows')
      .option('--images-list <file>', 'image ids when the feature set has no extraction manifest: a file with one image per line (path, SHA-256 or name) or a JSON list')
      .option('-o, --out <file>', 'write the matrix here (.json, .csv or .npy); default: print a table')
      .option('--format <fmt>', 'json | csv | npy (default: from the --out extension)')
      .option('--precision <p>', 'GEMM precision for the n×n matrices: float64 (default) or float32', 'float64')
      .option('--engine <kind>', 'GEMM engine: auto (default), ort, js'),
  ).action(async (featureset: string, o: SimilarityOptions) => {
    const task = await taskMeasureOf(o.measure);
    if (task) return taskDistances(featureset, task, o);
    const measure = measureIdFromOptions(o);
    if (o.precision !== 'float64' && o.precision !== 'float32') throw new UsageError(`--precision must be float64 or float32, got "${o.precision}"`);
    const set = await loadFeatureSet(featureset, { order: parseList(o.order, '--order'), images: await readImagesList(o.imagesList) });
    const engine = await getGemmEngine((o.engine ?? process.env.TASKMAP_ENGINE ?? 'auto') as EngineKind);
    const bar = progressBar(measure);
    const t0 = performance.now();
    const sim = await similarityMatrix(set, measure, {
      engine,
      precision: o.precision as Precision,
      onProgress: (d, t, l) => bar.update(d, t, l),
    });
    bar.stop();
    const ms = performance.now() - t0;
    if (o.out) {
      const format = outputFormat(o);
      await writeLabelledMatrix(o.out, sim, format);
      process.stderr.write(
        `${describeMeasure(measure).name} (${measure}): ${set.members.length} models × ${set.n} images in ${ms.toFixed(0)} ms → ${o.out}\n`,
      );
    } else {
      process.stdout.write(`${measure} (${set.members.length} models, ${set.n} images, ${engine.name})\n${formatMatrix(sim)}\n`);
    }
  });
}
