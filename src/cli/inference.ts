/**
 * The inference options of `taskmap similarity` (`--bootstrap`, `--subset`, `--replacement`, `--seed`; `--pair` with
 * `--permutations`) and what they print and write (docs/measures.md#inference). The library work is loaded only when
 * one of them is given, so a plain similarity run pays nothing for it.
 */
import type { Command } from 'commander';
import { dirname, extname, basename, join } from 'node:path';
import type { GemmEngine, Precision } from '../linalg/gemm.js';
import type { ImageList } from '../features/imageIdentity.js';
import { writeFilesAtomic, type OutputFile } from '../io/atomic.js';
import { labelledMatrixFiles, type LabelledMatrixFormat } from '../io/labelledMatrix.js';
import { progressBar } from './progress.js';
import { formatMatrix } from './table.js';
import { parseList, parseNumber, UsageError } from './util.js';

export const INFERENCE_HELP_GROUP = 'Inference (docs/measures.md#inference):';

export function addInferenceOptions(cmd: Command): Command {
  return cmd
    .optionsGroup(INFERENCE_HELP_GROUP)
    .option(
      '--bootstrap <draws>',
      'recompute the matrix on this many seeded random draws of images (--seed): per-cell mean, sd and 95% interval (with --out: also <stem>.lower/.upper.<ext> and <stem>.bootstrap.json, which `taxonomy --support` reads)',
    )
    .option('--subset <k>', 'with --bootstrap: images per draw, drawn without replacement (default min(200, n/2), as `rank`)')
    .option(
      '--replacement',
      'with --bootstrap: draw n images with replacement instead (duplicated images inflate k-NN, debiased-CKA and RBF values; see the docs)',
    )
    .option('--pair <a,b>', 'with --permutations: the two members to test (the images of b are shuffled)')
    .option(
      '--permutations <P>',
      'permutation test of --pair: p-value of the observed value against P shuffles of the image order of b (prints, or writes --out .json)',
    );
}

export interface InferenceFlags {
  bootstrap?: string;
  subset?: string;
  replacement?: boolean;
  seed?: string;
  pair?: string;
  permutations?: string;
}

export type InferenceMode =
  | { kind: 'bootstrap'; draws: number; subset?: number; replacement: boolean; seed?: number }
  | { kind: 'permutation'; a: string; b: string; permutations: number; seed?: number };

/** What `--seed` says for these runs, added to its help (the option itself is the Fisher probe's, shared). */
export const SEED_HELP = 'with --bootstrap / --permutations: the generator seed, 0…4294967295 (default 1993)';

/**
 * The inference the flags ask for (checked before any work), or undefined for a plain similarity run. `seed` is the
 * --seed value only when the user gave it (the option has the Fisher probe's default otherwise).
 */
export function inferenceMode(o: InferenceFlags): InferenceMode | undefined {
  const seed = o.seed === undefined ? undefined : parseNumber(o.seed, '--seed', { integer: true, min: 0 });
  if (o.bootstrap !== undefined && (o.permutations !== undefined || o.pair !== undefined)) {
    throw new UsageError('--bootstrap and --permutations/--pair are separate runs; give one of them');
  }
  if (o.bootstrap !== undefined) {
    const draws = parseNumber(o.bootstrap, '--bootstrap', { integer: true, min: 1 });
    if (o.subset !== undefined && o.replacement)
      throw new UsageError('--subset sizes draws without replacement; with --replacement every draw has all n images');
    const subset = o.subset === undefined ? undefined : parseNumber(o.subset, '--subset', { integer: true, min: 4 });
    return { kind: 'bootstrap', draws, subset, replacement: Boolean(o.replacement), seed };
  }
  if (o.subset !== undefined || o.replacement) throw new UsageError('--subset and --replacement need --bootstrap <draws>');
  if (o.permutations !== undefined || o.pair !== undefined) {
    if (o.permutations === undefined) throw new UsageError('--pair needs --permutations <P>');
    if (o.pair === undefined) throw new UsageError('--permutations needs --pair <a,b>: the two members to test');
    const permutations = parseNumber(o.permutations, '--permutations', { integer: true, min: 1 });
    const pair = parseList(o.pair, '--pair')!;
    if (pair.length !== 2) throw new UsageError(`--pair: expected two member labels "a,b", got "${o.pair}"`);
    return { kind: 'permutation', a: pair[0], b: pair[1], permutations, seed };
  }
  return undefined;
}

/** `<dir>/<stem><suffix>` for an output `path` (its extension dropped). */
function beside(path: string, suffix: string): string {
  return join(dirname(path), `${basename(path, extname(path))}${suffix}`);
}

interface RunContext {
  featureset: string;
  measure: string;
  order?: string[];
  images?: ImageList;
  engine: GemmEngine;
  precision: Precision;
  out?: string;
  format?: LabelledMatrixFormat;
}

/** Run `work` with a progress bar titled `title`, closing the bar however it ends. */
async function withProgress<T>(title: string, work: (onProgress: (done: number, total: number, label: string) => void) => Promise<T>): Promise<T> {
  const bar = progressBar(title);
  try {
    return await work((d, t, l) => bar.update(d, t, l));
  } finally {
    bar.stop();
  }
}

const fmt = (x: number, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

/** `similarity --bootstrap`: the point matrix, the interval matrices and the bootstrap file. */
export async function runBootstrap(mode: Extract<InferenceMode, { kind: 'bootstrap' }>, c: RunContext): Promise<void> {
  const { bootstrapOfPath, bootstrapToJson, bootstrapMatrix } = await import('../ops/inference.js');
  const t0 = performance.now();
  const run = await withProgress(`${c.measure} bootstrap`, (onProgress) =>
    bootstrapOfPath(c.featureset, c.measure, {
      draws: mode.draws,
      subset: mode.subset,
      replacement: mode.replacement,
      seed: mode.seed,
      order: c.order,
      images: c.images,
      engine: c.engine,
      precision: c.precision,
      onProgress,
    }),
  );
  const b = run.bootstrap;
  const r = b.resampling;
  const how = r.replacement ? `${r.draws} draws of ${r.size} images with replacement` : `${r.draws} draws of ${r.size} of ${b.images} images`;
  const summary = `${how} (seed ${r.seed}); ${Math.round(100 * b.level)}% intervals are the ${fmt((100 * (1 - b.level)) / 2, 1)} and ${fmt((100 * (1 + b.level)) / 2, 1)} percentiles over the draws`;
  const lower = bootstrapMatrix(b, b.lower);
  const upper = bootstrapMatrix(b, b.upper);
  const ms = performance.now() - t0;
  if (c.out) {
    const files: OutputFile[] = [
      ...labelledMatrixFiles(c.out, b.point, c.format),
      ...labelledMatrixFiles(beside(c.out, `.lower${extname(c.out)}`), lower, c.format),
      ...labelledMatrixFiles(beside(c.out, `.upper${extname(c.out)}`), upper, c.format),
      { path: beside(c.out, '.bootstrap.json'), data: `${JSON.stringify(bootstrapToJson(b, run.measure.largerIsMoreSimilar))}\n` },
    ];
    await writeFilesAtomic(files);
    process.stderr.write(
      `${run.measure.name} (${c.measure}): ${b.labels.length} models × ${b.images} images, ${summary}, in ${(ms / 1000).toFixed(1)} s → ${files
        .map((f) => f.path)
        .filter((p) => !p.endsWith('.labels.json'))
        .join(', ')}\n`,
    );
    return;
  }
  process.stdout.write(
    [
      `${c.measure} (${b.labels.length} models, ${b.images} images, ${c.engine.name}); bootstrap: ${summary}`,
      formatMatrix(b.point),
      '',
      `lower ${Math.round(100 * b.level)}% bound:`,
      formatMatrix(lower),
      '',
      `upper ${Math.round(100 * b.level)}% bound:`,
      formatMatrix(upper),
      '',
    ].join('\n'),
  );
}

/** `similarity --pair a,b --permutations P`: the observed value, its p-value and the null distribution's summary. */
export async function runPermutation(mode: Extract<InferenceMode, { kind: 'permutation' }>, c: RunContext): Promise<void> {
  const { permutationTestOfPath, permutationJson } = await import('../ops/inference.js');
  if (c.out && extname(c.out).toLowerCase() !== '.json') throw new UsageError('--out with --permutations writes the test as JSON: give a .json file');
  const t0 = performance.now();
  const run = await withProgress(`${c.measure} permutations`, (onProgress) =>
    permutationTestOfPath(c.featureset, c.measure, mode.a, mode.b, {
      permutations: mode.permutations,
      seed: mode.seed,
      images: c.images,
      engine: c.engine,
      precision: c.precision,
      onProgress,
    }),
  );
  const t = run.test;
  const values = Array.from(t.null);
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, values.length - 1));
  const than = t.largerIsMoreSimilar ? 'at least as large as' : 'at most';
  const lines = [
    `${t.measure}: ${t.a} vs ${t.b} (shuffling the images of ${t.b}), ${t.images} images`,
    `observed ${fmt(t.observed, 6)} (${t.largerIsMoreSimilar ? 'a similarity' : 'a distance: smaller = more similar'})`,
    `${t.permutations} permutations (seed ${t.seed}): ${t.extreme} ${than} observed → p = ${fmt(t.pValue, 4)}` +
      (t.extreme === 0 ? ` (the smallest possible with ${t.permutations}: 1/${t.permutations + 1})` : ''),
    `null: mean ${fmt(mean)}, sd ${fmt(sd)}, min ${fmt(Math.min(...values))}, max ${fmt(Math.max(...values))}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (c.out) {
    await writeFilesAtomic([{ path: c.out, data: `${JSON.stringify({ featureset: c.featureset, ...permutationJson(t) }, null, 1)}\n` }]);
    process.stderr.write(`${run.measure.name}: ${t.permutations} permutations in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${c.out}\n`);
  }
}
