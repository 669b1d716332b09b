/**
 * Option builders and parsers shared by several commands: each command adds the same flags and reads them the same
 * way through these (a command never imports another command's module).
 */
import type { Command } from 'commander';
import { EVAL_METRICS, type EvalMetric, type EvaluateOptions } from '../evaluate/evaluate.js';
import type { ExtractSummary } from '../models/extract.js';
import type { Preprocessing } from '../models/types.js';
import { zooIds } from '../models/zoo.js';
import { VIA_TRANSFERS_NEIGHBOURS } from '../taskonomy/viaTransfers.js';
import { collect, parseKeyValues, parseList, parseNumber, UsageError } from './util.js';

/** The protocol options shared by every command that scores predictions against ground truth. */
export interface EvaluationFlags {
  truth: string;
  targets?: string;
  sources?: string;
  includeSelf?: boolean;
  alias: string[];
  metric: string;
}

export function addEvaluationOptions(cmd: Command): Command {
  return cmd
    .requiredOption('-t, --truth <file>', 'ground truth: labelled matrix (rows = sources, cols = targets) or Taskonomy dict (.json, .csv, .pkl)')
    .option('--targets <a,b,...>', 'targets to score (default: all shared)')
    .option('--sources <a,b,...>', 'candidate sources (default: all shared)')
    .option('--include-self', 'keep the target itself among its candidate sources (DDS protocol)')
    .option('--alias <old=new>', 'rename a task in both matrices (repeatable), e.g. vanishing_point=vanishing_point_well_defined', collect, [])
    .option('-m, --metric <name>', `${EVAL_METRICS.join(' | ')}`, 'spearman');
}

export function evaluationOptionsFrom(o: EvaluationFlags): EvaluateOptions {
  if (!(EVAL_METRICS as readonly string[]).includes(o.metric)) {
    throw new UsageError(`--metric must be one of ${EVAL_METRICS.join(', ')}, got "${o.metric}"`);
  }
  return {
    metric: o.metric as EvalMetric,
    targets: parseList(o.targets, '--targets'),
    sources: parseList(o.sources, '--sources'),
    includeSelf: Boolean(o.includeSelf),
    aliases: parseKeyValues(o.alias, '--alias'),
  };
}

export interface PreprocessingFlags {
  inputSize?: string;
  resize?: string;
  channels?: string;
  range?: string;
  mean?: string;
  std?: string;
  layout?: string;
  inputDtype?: string;
}

/** Flags that override a model card's preprocessing (or the spec inferred for a model file). */
export function addPreprocessingOptions(cmd: Command): Command {
  return cmd
    .option('--input-size <WxH>', 'model input size, e.g. 224x224 (default: the zoo card, or the model input; 224 when dynamic)')
    .option('--resize <mode>', 'stretch | crop (shorter side + centre crop) | pad (letterbox)')
    .option('--channels <order>', 'rgb | bgr | gray')
    .option('--range <lo,hi>', 'pixel values 0…255 map linearly to lo…hi (e.g. 0,1 or -1,1 or 0,255)')
    .option('--mean <m1,m2,m3>', 'subtracted per channel after --range (e.g. 0.485,0.456,0.406)')
    .option('--std <s1,s2,s3>', 'divided per channel after --mean (e.g. 0.229,0.224,0.225)')
    .option('--layout <NHWC|NCHW>', 'input tensor layout')
    .option('--input-dtype <float32|int32>', 'input tensor type');
}

function numbers(value: string, flag: string): number[] {
  const xs = parseList(value)!.map(Number);
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x))) throw new UsageError(`${flag}: expected comma-separated numbers, got "${value}"`);
  return xs;
}

export function preprocessingOverrides(o: PreprocessingFlags): Partial<Preprocessing> {
  const out: Partial<Preprocessing> = {};
  if (o.inputSize !== undefined) {
    const m = /^(\d+)(?:[x×,](\d+))?$/.exec(o.inputSize.trim());
    if (!m) throw new UsageError(`--input-size: expected WxH (e.g. 224x224) or one number, got "${o.inputSize}"`);
    out.width = Number(m[1]);
    out.height = Number(m[2] ?? m[1]);
  }
  if (o.resize !== undefined) {
    if (!['stretch', 'crop', 'pad'].includes(o.resize)) throw new UsageError(`--resize must be stretch, crop or pad, got "${o.resize}"`);
    out.resize = o.resize as Preprocessing['resize'];
  }
  if (o.channels !== undefined) {
    if (!['rgb', 'bgr', 'gray'].includes(o.channels)) throw new UsageError(`--channels must be rgb, bgr or gray, got "${o.channels}"`);
    out.channels = o.channels as Preprocessing['channels'];
  }
  if (o.range !== undefined) {
    const r = numbers(o.range, '--range');
    if (r.length !== 2) throw new UsageError(`--range: expected lo,hi, got "${o.range}"`);
    out.range = [r[0], r[1]];
  }
  if (o.mean !== undefined) out.mean = numbers(o.mean, '--mean');
  if (o.std !== undefined) out.std = numbers(o.std, '--std');
  if (o.layout !== undefined) {
    const l = o.layout.toUpperCase();
    if (l !== 'NHWC' && l !== 'NCHW') throw new UsageError(`--layout must be NHWC or NCHW, got "${o.layout}"`);
    out.layout = l;
  }
  if (o.inputDtype !== undefined) {
    if (o.inputDtype !== 'float32' && o.inputDtype !== 'int32') throw new UsageError(`--input-dtype must be float32 or int32, got "${o.inputDtype}"`);
    out.dtype = o.inputDtype;
  }
  return out;
}

/** `--model a,b --model c` → refs; `zoo` expands to every zoo model. */
export function modelRefs(values: string[] | undefined): string[] {
  const refs = parseList(values) ?? [];
  return refs.flatMap((r) => (r === 'zoo' ? zooIds() : [r]));
}

/** One line per outcome, for the end of a run. */
export function describeSummary(s: ExtractSummary): string {
  const parts = [
    s.computed.length ? `${s.computed.length} computed` : '',
    s.reused.length ? `${s.reused.length} reused from cache` : '',
    s.reassembled.length ? `${s.reassembled.length} reassembled from cached rows` : '',
    s.removed.length ? `${s.removed.length} stale removed` : '',
    s.failed.length ? `${s.failed.length} FAILED` : '',
  ].filter(Boolean);
  return `${s.manifest.entries.length} feature files × ${s.manifest.images.files.length} images in ${s.dir} (${parts.join(', ') || 'nothing to do'}) in ${s.seconds.toFixed(1)} s`;
}

/** An integer option at least `min` (default 1). */
export function parseInteger(v: string, what: string, min = 1): number {
  return parseNumber(v, what, { integer: true, min });
}

/** A number option greater than 0. */
export function parsePositive(v: string, what: string): number {
  const x = parseNumber(v, what);
  if (!(x > 0)) throw new UsageError(`${what}: must be positive, got ${x}`);
  return x;
}

// The NSL modules load TF.js, so they are imported inside the parsers: `taskmap --help` stays fast.

export const VARIANT_LIST = 'conv | static-uns | static-dns | dynamic-dns | dynamic-uns';

/** The NSL / probe network options (`nsl train`, `nsl fisher`, `similarity` with a task measure). */
export interface NetworkOptions {
  widthScale: string;
  widths?: string;
  layersPerStage: string;
  predictorWidth?: string;
  diagonalInit: string;
  bnDecay: string;
  bnDebias: boolean;
  weightDecay: string;
}

export function addNetworkOptions(cmd: Command, defaults: { widthScale: string; bnDecay: string } = { widthScale: '1', bnDecay: '0.999' }): Command {
  return cmd
    .option('--width-scale <f>', 'multiply the reference widths (32, 32, 64, 128) and predictor widths', defaults.widthScale)
    .option('--widths <a,b,c,d>', 'explicit widths of root and the three stages (overrides --width-scale)')
    .option('--layers-per-stage <n>', 'NSL layers per stage (reference 3)', '3')
    .option('--predictor-width <n>', 'hidden channels of the dynamic predictors (default 64 DNS / 128 UNS, × width scale)')
    .option('--diagonal-init <how>', 'static DNS: identity (the reference quirk: 6 of 9 positions start at 0) | ones', 'identity')
    .option('--bn-decay <d>', 'batch-norm moving-average decay (reference 0.999; short runs want ~0.99)', defaults.bnDecay)
    .option('--no-bn-debias', 'do not divide the BN moving averages by 1 − decay^t (the reference does not)')
    .option('--weight-decay <λ>', 'L2 penalty λ·½Σw² on kernels and BN γ/β', '5e-4');
}

export async function networkConfig(o: NetworkOptions, variant: string) {
  const { isVariant } = await import('../nsl/network.js');
  if (!isVariant(variant)) throw new UsageError(`--variant must be one of ${VARIANT_LIST}, got "${variant}"`);
  if (o.diagonalInit !== 'identity' && o.diagonalInit !== 'ones') throw new UsageError('--diagonal-init must be identity or ones');
  const widths = o.widths ? parseList(o.widths)!.map((w) => parseInteger(w, '--widths')) : undefined;
  if (widths && widths.length !== 4) throw new UsageError('--widths: give four widths (root and the three stages)');
  const decay = parseNumber(o.bnDecay, '--bn-decay');
  if (!(decay > 0 && decay < 1)) throw new UsageError('--bn-decay must be in (0, 1)');
  return {
    variant,
    widthScale: parsePositive(o.widthScale, '--width-scale'),
    ...(widths ? { widths: widths as [number, number, number, number] } : {}),
    layersPerStage: parseInteger(o.layersPerStage, '--layers-per-stage'),
    ...(o.predictorWidth ? { predictorWidth: parseInteger(o.predictorWidth, '--predictor-width') } : {}),
    diagonalInit: o.diagonalInit as 'identity' | 'ones',
    batchNorm: { decay, debias: o.bnDebias },
    weightDecay: parseNumber(o.weightDecay, '--weight-decay', { min: 0 }),
  };
}

/** Probe-network options of the Fisher task measures (`nsl fisher`, `similarity --measure fisher-…`). */
export interface ProbeOptions extends NetworkOptions {
  variant: string;
  epochs: string;
  batch: string;
  lr: string;
  seed: string;
}

/**
 * The probe-training options, shared by `nsl fisher` and `similarity` with a task measure. `seedHelp` adds what
 * `--seed` also seeds in that command (similarity: its bootstrap and permutation generator).
 */
export function addProbeOptions(cmd: Command, seedHelp?: string): Command {
  return addNetworkOptions(
    cmd
      .option('--variant <v>', `Fisher probe network variant: ${VARIANT_LIST}`, 'conv')
      .option('--epochs <n>', 'Fisher probe training epochs', '2')
      .option('--batch <n>', 'Fisher probe batch size', '64')
      .option('--lr <rate>', 'Fisher probe learning rate', '0.02')
      .option('--seed <n>', `Fisher probe initialisation seed (shared by all tasks)${seedHelp ? `; ${seedHelp}` : ''}`, '0'),
    // Probes are trained briefly: a narrow network and a faster-moving BN average.
    { widthScale: '0.25', bnDecay: '0.99' },
  );
}

export async function probeTrainConfig(o: ProbeOptions) {
  // Same seed for every task: the body layers draw their seeds before the score layer, so all probes start from
  // the same body weights whatever their head size; heads of different sizes are zero-padded (docs/measures.md#fisher-task-measures).
  return {
    network: await networkConfig(o, o.variant),
    epochs: parseInteger(o.epochs, '--epochs'),
    batchSize: parseInteger(o.batch, '--batch'),
    learningRate: parsePositive(o.lr, '--lr'),
    seed: parseInteger(o.seed, '--seed', 0),
  };
}

/** `--via-neighbours k|all` of the commands with `--via-transfers`: how many of the most similar known tasks weigh. */
export function addViaNeighboursOption(cmd: Command): Command {
  return cmd.option(
    '--via-neighbours <k>',
    `with --via-transfers: how many of the most similar known tasks weigh, or "all" (default ${VIA_TRANSFERS_NEIGHBOURS})`,
  );
}

/** The parsed `--via-neighbours` (undefined: the default; "all": Infinity); refused without `--via-transfers`. */
export function viaNeighboursFrom(value: string | undefined, viaTransfers: boolean): number | undefined {
  if (value === undefined) return undefined;
  if (!viaTransfers) throw new UsageError('--via-neighbours applies to --via-transfers');
  return value === 'all' ? Number.POSITIVE_INFINITY : parseNumber(value, '--via-neighbours', { integer: true, min: 1 });
}
