/**
 * The NSL benchmark: plain convolution against every NSL variant on Fashion-MNIST over several seeds, test
 * accuracy (mean ± sample sd over seeds) and training time per epoch, written as JSON + Markdown.
 *
 * Runs go to worker threads (one WASM backend each: the backend is single-threaded in Node), the most expensive
 * variant first. Time per epoch is wall time inside the worker, so it depends on how many workers share the
 * cores; the table records the worker count. Completed runs are saved after each one, so `resume` continues an
 * interrupted benchmark with the same settings.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runOnWorkers } from '../workers/jobPool.js';
import { startSiblingWorker } from '../workers/startWorker.js';
import { writeFileAtomic } from '../io/atomic.js';
import { defaultFashionMnistDir, fewShot, head, loadFashionMnist, type ImageDataset } from './data.js';
import { VARIANTS, type Variant } from './network.js';
import { train, type EpochRecord, type TrainConfig } from './train.js';

export interface BenchSettings {
  variants: Variant[];
  seeds: number[];
  /** Training images per class (a balanced few-shot subset of the 60 000, drawn with `dataSeed`). */
  perClass: number;
  /** First n test images (of 10 000). */
  testImages: number;
  dataSeed: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  widthScale: number;
  bnDecay: number;
  augmentPad: number;
  diagonalInit: 'identity' | 'ones';
  workers: number;
  data: string;
}

export const DEFAULT_BENCH: BenchSettings = {
  variants: [...VARIANTS],
  seeds: [1, 2, 3],
  perClass: 100,
  testImages: 2000,
  dataSeed: 0,
  epochs: 3,
  batchSize: 32,
  learningRate: 0.02,
  widthScale: 0.25,
  bnDecay: 0.99,
  augmentPad: 0,
  diagonalInit: 'identity',
  workers: 2,
  data: defaultFashionMnistDir(),
};

export interface BenchJob {
  variant: Variant;
  seed: number;
  settings: BenchSettings;
}

export interface BenchRun {
  variant: Variant;
  seed: number;
  testAccuracy: number;
  /** Training seconds of each epoch. */
  epochSeconds: number[];
  parameters: number;
  history: EpochRecord[];
}

/** The training configuration of one run (shared by the worker and the report). */
export function benchTrainConfig(s: BenchSettings, variant: Variant, seed: number): TrainConfig {
  return {
    network: { variant, widthScale: s.widthScale, batchNorm: { decay: s.bnDecay }, diagonalInit: s.diagonalInit },
    epochs: s.epochs,
    batchSize: s.batchSize,
    learningRate: s.learningRate,
    augmentPad: s.augmentPad,
    seed,
  };
}

let cachedData: { key: string; train: ImageDataset; test: ImageDataset } | undefined;

/** Train and evaluate one run in this thread (the worker calls this). */
export async function runBenchJob(job: BenchJob): Promise<BenchRun> {
  const s = job.settings;
  const key = JSON.stringify([s.data, s.perClass, s.dataSeed, s.testImages]);
  if (cachedData?.key !== key) {
    const fm = await loadFashionMnist(s.data);
    cachedData = { key, train: fewShot(fm.train, s.perClass, s.dataSeed), test: head(fm.test, s.testImages) };
  }
  const r = await train(cachedData.train, benchTrainConfig(s, job.variant, job.seed), { test: cachedData.test, evalEveryEpoch: false });
  r.model.dispose();
  return {
    variant: job.variant,
    seed: job.seed,
    testAccuracy: r.testAccuracy ?? Number.NaN,
    epochSeconds: r.history.map((h) => h.seconds),
    parameters: r.parameters,
    history: r.history,
  };
}

/** Relative cost of a variant's epoch (measured on WASM at widthScale 0.25), for longest-first scheduling. */
const COST: Record<Variant, number> = { conv: 1, 'static-uns': 1, 'static-dns': 1, 'dynamic-dns': 5, 'dynamic-uns': 20 };

export interface BenchResult {
  settings: BenchSettings;
  runs: BenchRun[];
  complete: boolean;
  command?: string;
}

/**
 * Run (or continue) the benchmark. With `out`, bench.json is rewritten after every run; with `resume`, runs
 * already in out/bench.json with identical settings are kept.
 */
export async function runBench(
  settings: BenchSettings,
  opts: { out?: string; resume?: boolean; command?: string; onRun?: (r: BenchRun, done: number, total: number) => void } = {},
): Promise<BenchResult> {
  let runs: BenchRun[] = [];
  const jsonPath = opts.out ? join(opts.out, 'bench.json') : undefined;
  if (jsonPath && opts.resume && existsSync(jsonPath)) {
    const prev = JSON.parse(await readFile(jsonPath, 'utf8')) as BenchResult;
    if (JSON.stringify(prev.settings) !== JSON.stringify(settings)) {
      throw new Error(
        `${jsonPath} was made with other settings; remove it or run without --resume\n  before: ${JSON.stringify(prev.settings)}\n  now:    ${JSON.stringify(settings)}`,
      );
    }
    runs = prev.runs;
  }
  const done = new Set(runs.map((r) => `${r.variant}/${r.seed}`));
  const jobs: BenchJob[] = settings.variants
    .flatMap((variant) => settings.seeds.map((seed) => ({ variant, seed, settings })))
    .filter((j) => !done.has(`${j.variant}/${j.seed}`))
    .sort((a, b) => COST[b.variant] - COST[a.variant]);
  const total = settings.variants.length * settings.seeds.length;
  const save = async (complete: boolean) => {
    if (!opts.out) return;
    const result: BenchResult = { settings, runs, complete, command: opts.command };
    await writeFileAtomic(jsonPath!, JSON.stringify(result, null, 2) + '\n');
    await writeFileAtomic(join(opts.out, 'bench.md'), benchMarkdown(result));
  };
  const record = async (r: BenchRun) => {
    runs.push(r);
    opts.onRun?.(r, runs.length, total);
    await save(false);
  };
  if (settings.workers <= 0) {
    for (const job of jobs) await record(await runBenchJob(job));
  } else {
    // Results are recorded (and bench.json rewritten) one at a time, in the order they arrive.
    let chain: Promise<void> = Promise.resolve();
    await runOnWorkers<BenchJob, BenchRun>(jobs, {
      threads: settings.workers,
      start: () => startSiblingWorker(import.meta.url, 'benchWorker', 'benchmark'),
      describe: (i) => `${jobs[i].variant} seed ${jobs[i].seed}`,
      onResult: (_i, run) => (chain = chain.then(() => record(run))),
    });
    await chain;
  }
  runs.sort((a, b) => VARIANTS.indexOf(a.variant) - VARIANTS.indexOf(b.variant) || a.seed - b.seed);
  await save(true);
  return { settings, runs, complete: true, command: opts.command };
}

export interface BenchSummaryRow {
  variant: Variant;
  runs: number;
  accuracyMean: number;
  accuracySd: number;
  secondsPerEpochMean: number;
  secondsPerEpochSd: number;
  parameters: number;
}

function meanSd(xs: number[]): [number, number] {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : Number.NaN;
  return [m, sd];
}

/** Per variant: accuracy and per-epoch time, mean ± sample sd over seeds (per-epoch times averaged within a run first). */
export function summarise(runs: BenchRun[]): BenchSummaryRow[] {
  return VARIANTS.flatMap((variant) => {
    const rs = runs.filter((r) => r.variant === variant);
    if (rs.length === 0) return [];
    const [accuracyMean, accuracySd] = meanSd(rs.map((r) => r.testAccuracy));
    const [secondsPerEpochMean, secondsPerEpochSd] = meanSd(rs.map((r) => r.epochSeconds.reduce((a, b) => a + b, 0) / r.epochSeconds.length));
    return [{ variant, runs: rs.length, accuracyMean, accuracySd, secondsPerEpochMean, secondsPerEpochSd, parameters: rs[0].parameters }];
  });
}

const pct = (v: number) => (100 * v).toFixed(2);
const sd = (v: number, f: (x: number) => string) => (Number.isNaN(v) ? '–' : f(v));

export function benchMarkdown(result: BenchResult): string {
  const s = result.settings;
  const rows = summarise(result.runs);
  const lines = [
    '# NSL benchmark: plain convolution vs Neural Similarity Learning on Fashion-MNIST',
    '',
    result.complete ? '' : `**Incomplete: ${result.runs.length} of ${s.variants.length * s.seeds.length} runs.**\n`,
    `Settings: ${s.perClass} training images per class (${s.perClass * 10} in all, seed ${s.dataSeed}), the first ${s.testImages} test images; ` +
      `${s.epochs} epochs, batch ${s.batchSize}, SGD momentum 0.9, lr ${s.learningRate} (× 0.1 at 47 %, 71 %, 88 % of the iterations), ` +
      `weight decay 5e-4, label smoothing 0.01, augmentation ${s.augmentPad > 0 ? `pad ${s.augmentPad} + crop + flip` : 'off'}; ` +
      `widths × ${s.widthScale} of (32, 32, 64, 128), BN decay ${s.bnDecay} (debiased), static-DNS init ${s.diagonalInit}; ` +
      `seeds ${s.seeds.join(', ')}; TF.js WASM backend, ${s.workers} worker thread(s) sharing the machine.`,
    '',
    '| variant | runs | test accuracy % (mean ± sd) | s / epoch (mean ± sd) | parameters |',
    '|---|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.variant} | ${r.runs} | ${pct(r.accuracyMean)} ± ${sd(r.accuracySd, pct)} | ${r.secondsPerEpochMean.toFixed(1)} ± ${sd(r.secondsPerEpochSd, (v) => v.toFixed(1))} | ${r.parameters} |`,
    ),
    '',
    'Per run (test accuracy %):',
    '',
    '| variant | ' + s.seeds.map((x) => `seed ${x}`).join(' | ') + ' |',
    '|---|' + s.seeds.map(() => '---:').join('|') + '|',
    ...s.variants.map(
      (v) =>
        `| ${v} | ` +
        s.seeds
          .map((seed) => {
            const r = result.runs.find((x) => x.variant === v && x.seed === seed);
            return r ? pct(r.testAccuracy) : '–';
          })
          .join(' | ') +
        ' |',
    ),
    '',
  ];
  if (result.command) lines.push('Produced by:', '', '```', result.command, '```', '');
  return lines.filter((l, i) => !(l === '' && lines[i - 1] === '')).join('\n');
}
