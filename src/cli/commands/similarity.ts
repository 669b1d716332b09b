import type { Command } from 'commander';
import { loadFeatureSet } from '../../features/featureSet.js';
import { writeLabelledMatrix } from '../../io/labelledMatrix.js';
import { getGemmEngine, type EngineKind, type Precision } from '../../linalg/gemm.js';
import { canonicalMeasureId, describeMeasure } from '../../measures/registry.js';
import { similarityMatrix } from '../../measures/similarity.js';
import { progressBar } from '../progress.js';
import { formatMatrix } from '../table.js';
import { parseList, UsageError } from '../util.js';

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

export function register(program: Command): void {
  addMeasureOptions(
    program
      .command('similarity')
      .summary('similarity matrix of all models in a feature set')
      .description(
        'Compute the M×M similarity matrix of the models (or model/layer entries) in a feature set: a directory ' +
          'of .npy files, one .npz or one .safetensors file, each entry n_images × features on the same images.',
      )
      .argument('<featureset>', 'directory of .npy files, a .npz or a .safetensors file'),
  )
    .option('--order <labels>', 'comma-separated labels: order (and subset) of the matrix rows')
    .option('-o, --out <file>', 'write the matrix here (.json, .csv or .npy); default: print a table')
    .option('--format <fmt>', 'json | csv | npy (default: from the --out extension)')
    .option('--precision <p>', 'GEMM precision for the n×n matrices: float64 (default) or float32', 'float64')
    .option('--engine <kind>', 'GEMM engine: auto (default), ort, js')
    .action(async (featureset: string, o: MeasureOptions & { order?: string; out?: string; format?: string; precision: string; engine?: string }) => {
      const measure = measureIdFromOptions(o);
      if (o.precision !== 'float64' && o.precision !== 'float32') throw new UsageError(`--precision must be float64 or float32, got "${o.precision}"`);
      const set = await loadFeatureSet(featureset, { order: parseList(o.order) });
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
        const format = (o.format ?? o.out.split('.').pop()) as 'json' | 'csv' | 'npy';
        if (!['json', 'csv', 'npy'].includes(format)) throw new UsageError(`--format must be json, csv or npy, got "${format}"`);
        await writeLabelledMatrix(o.out, sim, format);
        process.stderr.write(
          `${describeMeasure(measure).name} (${measure}): ${set.members.length} models × ${set.n} images in ${ms.toFixed(0)} ms → ${o.out}\n`,
        );
      } else {
        process.stdout.write(`${measure} (${set.members.length} models, ${set.n} images, ${engine.name})\n${formatMatrix(sim)}\n`);
      }
    });
}
