/**
 * The reduced benchmark CI runs (issue 13 §3): real Fashion-MNIST images (Debian dataset-fashion-mnist, fetched
 * with apt-get download when not installed), three cheap zoo sources, one derived target, small draws — every stage
 * of `taskmap benchmark transfer` end to end, and the cache making a second run extract and train nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTransferBenchmark } from '../../src/benchmark/transfer.js';
import { writeTransferReport } from '../../src/report/transfer.js';

function aptAvailable(): boolean {
  if (existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz')) return true;
  try {
    execFileSync('apt-get', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const canRun = Boolean(process.env.CI) || aptAvailable();
if (!canRun) console.warn('benchmark transfer test skipped: no Fashion-MNIST installed and no apt-get to fetch it');

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe.skipIf(!canRun)('benchmark transfer, reduced', () => {
  it('runs data → features → ground truth → scores → report, and a re-run reuses every cache', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'taskmap-transfer-cache-'));
    const out = await mkdtemp(join(tmpdir(), 'taskmap-transfer-out-'));
    dirs.push(cacheDir, out);
    const opts = {
      out,
      command: 'taskmap benchmark transfer (test)',
      sources: ['liveness', 'age', 'gender'],
      targets: ['fmnist-shoes' as const],
      measures: ['rsa', 'logme', 'leep', 'hscore', 'procrustes', 'cca:ridge=0.1'],
      perClass: [6],
      draws: 2,
      heads: ['logistic' as const],
      layerStudy: [],
      sizes: { fmnist: { train: 60, test: 40 } },
      cacheDir,
      workers: 1,
      resamples: 50,
    };
    const r = await runTransferBenchmark(opts);
    expect(r.targets).toEqual([expect.objectContaining({ id: 'fmnist-shoes', classes: expect.any(Array), train: 60, test: 40 })]);
    expect(r.sources.map((s) => s.id)).toEqual(['liveness', 'age', 'gender']);
    // age ends in a regression, the other two in softmax classifiers: LEEP scores two candidates, the rest three.
    expect(r.sources.map((s) => s.classes)).toEqual([2, null, 2]);
    const acc = r.truth.logistic['fmnist-shoes'];
    expect(Object.keys(acc).sort()).toEqual(['age', 'gender', 'liveness']);
    for (const v of Object.values(acc)) expect(v).toBeGreaterThan(0.5);
    expect(r.evaluation.records).toHaveLength(6 * 2);
    // Two pairwise families against the draw's one-hot labels: a value for every source, judged; the distance is
    // recorded as a distance and judged on its negation.
    for (const [measure, larger] of [
      ['procrustes', false],
      ['cca:ridge=0.1', true],
    ] as const) {
      for (const rec of r.evaluation.records.filter((x) => x.measure === measure)) {
        expect(rec.largerIsBetter).toBe(larger);
        expect(rec.values.every((v) => v !== null && Number.isFinite(v))).toBe(true);
      }
      const row = r.evaluation.rows.find((x) => x.measure === measure && x.target === 'mean')!;
      expect(row.candidates).toBe(3);
      expect(row.metrics.weightedtau).not.toBeNull();
    }
    for (const rec of r.evaluation.records.filter((x) => x.measure === 'procrustes')) {
      for (const v of rec.values) expect(v).toBeGreaterThanOrEqual(0);
      for (const v of rec.values) expect(v).toBeLessThanOrEqual(Math.SQRT2);
    }
    const leep = r.evaluation.records.find((x) => x.measure === 'leep')!;
    expect(leep.values[1]).toBeNull();
    expect(leep.values.filter((v) => v !== null)).toHaveLength(2);
    const logme = r.evaluation.rows.find((x) => x.measure === 'logme' && x.target === 'mean')!;
    expect(logme.candidates).toBe(3);
    expect(logme.metrics.weightedtau).not.toBeNull();

    const written = await writeTransferReport(r);
    expect(written).toContain('report.md');
    expect(await readFile(join(out, 'report.md'), 'utf8')).toContain('| logme |');

    // Second run: the images, features and ground truth come from the cache.
    const again = await runTransferBenchmark(opts);
    expect(again.truthRecords.every((t) => t.cached)).toBe(true);
    expect(again.sources.every((s) => s.msPerImage === undefined)).toBe(true);
    expect(again.truth).toEqual(r.truth);
    expect(again.evaluation.records.map((x) => x.values)).toEqual(r.evaluation.records.map((x) => x.values));
  }, 300_000);
});
