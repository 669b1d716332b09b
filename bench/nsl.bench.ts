/**
 * `npx tsx bench/nsl.bench.ts` (= `taskmap nsl bench` with its defaults): plain convolution vs the four NSL
 * variants on Fashion-MNIST, 3 seeds, test accuracy mean ± sd and seconds per epoch, written to
 * results/nsl/bench.{json,md}. Needs Debian's dataset-fashion-mnist (apt-get update && apt-get install -y
 * dataset-fashion-mnist). The defaults (100 images per class, 3 epochs of batch 32, widths × 0.25, the first 2 000
 * test images, 2 worker threads) took 15.5 min on two shared cores; dynamic UNS is ~80 % of the time, and the
 * time grows about linearly with images per class and test images.
 * Options (environment): BENCH_VARIANTS, BENCH_SEEDS, BENCH_PER_CLASS, BENCH_TEST, BENCH_EPOCHS, BENCH_BATCH,
 * BENCH_LR, BENCH_WIDTH, BENCH_WORKERS, BENCH_OUT (default results/nsl), BENCH_RESUME=1.
 */
import { DEFAULT_BENCH, runBench, summarise, type BenchSettings } from '../src/nsl/bench.js';
import { isVariant, type Variant } from '../src/nsl/network.js';

const env = process.env;
const num = (name: string, fallback: number) => (env[name] === undefined ? fallback : Number(env[name]));
const variants = (env.BENCH_VARIANTS?.split(',') ?? DEFAULT_BENCH.variants).map((v) => {
  if (!isVariant(v)) throw new Error(`BENCH_VARIANTS: unknown variant ${v}`);
  return v as Variant;
});
const settings: BenchSettings = {
  ...DEFAULT_BENCH,
  variants,
  seeds: env.BENCH_SEEDS?.split(',').map(Number) ?? DEFAULT_BENCH.seeds,
  perClass: num('BENCH_PER_CLASS', DEFAULT_BENCH.perClass),
  testImages: num('BENCH_TEST', DEFAULT_BENCH.testImages),
  epochs: num('BENCH_EPOCHS', DEFAULT_BENCH.epochs),
  batchSize: num('BENCH_BATCH', DEFAULT_BENCH.batchSize),
  learningRate: num('BENCH_LR', DEFAULT_BENCH.learningRate),
  widthScale: num('BENCH_WIDTH', DEFAULT_BENCH.widthScale),
  workers: num('BENCH_WORKERS', DEFAULT_BENCH.workers),
};
const out = env.BENCH_OUT ?? 'results/nsl';
const t0 = Date.now();
const result = await runBench(settings, {
  out,
  resume: env.BENCH_RESUME === '1',
  command: `${Object.entries(env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v} `)
    .join('')}npx tsx bench/nsl.bench.ts`,
  onRun: (r, done, total) =>
    console.log(
      `[${done}/${total}] ${r.variant} seed ${r.seed}: ${(100 * r.testAccuracy).toFixed(2)} %, ${(r.epochSeconds.reduce((a, b) => a + b, 0) / r.epochSeconds.length).toFixed(1)} s/epoch`,
    ),
});
for (const r of summarise(result.runs)) {
  console.log(
    `${r.variant.padEnd(12)} ${(100 * r.accuracyMean).toFixed(2)} ± ${(100 * r.accuracySd).toFixed(2)} %  ${r.secondsPerEpochMean.toFixed(1)} s/epoch  ${r.parameters} parameters`,
  );
}
console.log(`${((Date.now() - t0) / 60000).toFixed(1)} min; ${out}/bench.md`);
