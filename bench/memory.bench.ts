/**
 * `npx tsx bench/memory.bench.ts` (issue 15, goal 6): measured peak memory of `taskmap rdm` on large feature files,
 * against the estimate `--dry-run` prints, with the file loaded whole and streamed in column blocks.
 *   - writes one seeded float32 file of N images × D features per case into BENCH_DIR (default /tmp/taskmap-memory;
 *     a 10⁶-feature file of 1,000 images is 4 GB: check `df` first), row block by row block;
 *   - for each case runs the built CLI as a child process, `taskmap --max-memory B rdm FILE --center`, under
 *     `/usr/bin/time -f %M` (peak resident set size), once with a budget that lets it load the file (only where the
 *     estimate is under BENCH_LOADED_MAX, default 8G: the machine is shared), and streamed: under the smallest budget
 *     it fits (narrow blocks), and under the largest that still streams (wide blocks; at most half the available
 *     memory);
 *   - prints per run the path taken (from `--dry-run`), the estimate (data + the ~150 MiB runtime allowance), the
 *     measured peak RSS, their ratio, the wall time, and the RDM summary line (equal between the two paths).
 * BENCH_CASES: comma-separated NxD (default 5000x100000,10000x10000,20000x2048,1000x1000000).
 * Then RSA at large N: `taskmap similarity DIR --measure rsa` on M members of N images × D features (BENCH_RSA,
 * comma-separated NxDxM, default 10000x2048x2,20000x2048x2; 20,000 images make 200 M-value triangles, ranked in
 * chunks), against similarityMemory's estimate for a folder read member by member.
 * Runs the built CLI: `npm run build` first, or point TASKMAP_BIN at another build's bin/taskmap.js.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, statSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { formatBytes, parseSize, setMaxMemory } from '../src/io/limits.js';
import { mulberry32 } from '../src/linalg/resample.js';
import { loadedBytes } from '../src/measures/prepareMemory.js';
import { rdmMemory, rdmStreams, RUNTIME_BYTES, similarityMemory, type MemberShape } from '../src/ops/memory.js';
import { npyHeader } from '../test/helpers/npyBytes.js';

const root = new URL('..', import.meta.url).pathname;
const BIN = process.env.TASKMAP_BIN ?? join(root, 'bin', 'taskmap.js');
const DIR = process.env.BENCH_DIR ?? '/tmp/taskmap-memory';
const CASES = (process.env.BENCH_CASES ?? '5000x100000,10000x10000,20000x2048,1000x1000000').split(',').map((c) => c.split('x').map(Number));
const LOADED_MAX = parseSize(process.env.BENCH_LOADED_MAX ?? '8G')!;
/** Also stream under the largest budget that still streams (BENCH_WIDE=0 leaves it out). */
const WIDE = process.env.BENCH_WIDE !== '0';
const RSA = (process.env.BENCH_RSA ?? '10000x2048x2,20000x2048x2')
  .split(',')
  .filter(Boolean)
  .map((c) => c.split('x').map(Number));
const GiB = 1024 ** 3;
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const STEP = 256 * 1024 ** 2;

/**
 * N × D float32 features, seeded: three image factors times fixed feature loadings plus uniform noise, so the RDM
 * has structure. Written a few rows at a time, so that the bench never holds the file.
 */
function writeFeatures(file: string, n: number, d: number, salt = 0): void {
  if (existsSync(file) && statSync(file).size === npyHeader('<f4', [n, d]).length + 4 * n * d) return;
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, npyHeader('<f4', [n, d]));
    const u = mulberry32(n * 7 + d + 1000003 * salt);
    const loadings = Float32Array.from({ length: 3 * d }, () => u() - 0.5);
    const rows = Math.max(1, Math.floor((64 * 1024 ** 2) / (4 * d)));
    const buf = new Float32Array(rows * d);
    for (let i0 = 0; i0 < n; i0 += rows) {
      const r = Math.min(rows, n - i0);
      for (let i = 0; i < r; i++) {
        const f0 = u() - 0.5;
        const f1 = u() - 0.5;
        const f2 = u() - 0.5;
        for (let j = 0; j < d; j++) buf[i * d + j] = f0 * loadings[j] + f1 * loadings[d + j] + f2 * loadings[2 * d + j] + 0.5 * (u() - 0.5);
      }
      writeSync(fd, new Uint8Array(buf.buffer, 0, r * d * 4));
    }
  } finally {
    closeSync(fd);
  }
}

interface Run {
  peakKiB: number;
  wallS: number;
  out: string;
}

function run(args: string[]): Run {
  const r = spawnSync('/usr/bin/time', ['-f', 'PEAK %M %e', process.execPath, BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const m = /PEAK (\d+) ([\d.]+)\s*$/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`taskmap ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { peakKiB: Number(m[1]), wallS: Number(m[2]), out: r.stdout.trim() };
}

async function main(): Promise<void> {
  if (!existsSync(BIN)) throw new Error(`${BIN} not found: run \`npm run build\` first, or set TASKMAP_BIN`);
  await mkdir(DIR, { recursive: true });
  console.log(
    `peak memory of \`taskmap rdm FILE --center\` (correlation RDM), float32 files in ${DIR}; ${cpus().length} cores, ` +
      `${formatBytes(totalmem())} RAM, ${formatBytes(freemem())} available; load average ${load()}`,
  );
  console.log('N × D | file | path | budget | estimate (data + runtime) | measured peak RSS | measured / estimate | wall | summary');
  for (const [n, d] of CASES) {
    const file = join(DIR, `features-${n}x${d}.npy`);
    writeFeatures(file, n, d);
    const member: MemberShape = { label: file, n, p: d, bytesPerValue: 4 };
    // Loaded: a budget well above the loaded estimate. Streamed: the smallest budget in 256 MiB steps that the
    // streamed estimate fits (the block size follows the budget), if that is still under the loaded estimate.
    setMaxMemory(64 * GiB);
    const loaded = rdmMemory(member);
    let streamBudget = STEP;
    for (;;) {
      setMaxMemory(streamBudget);
      if (!rdmStreams(member) || rdmMemory(member).peak <= streamBudget) break;
      streamBudget += STEP;
    }
    const budgets: [string, number][] = [];
    if (loaded.peak <= LOADED_MAX) budgets.push(['loaded', 64 * GiB]);
    else console.log(`${n} × ${d} | loaded: skipped, its estimate ${formatBytes(loaded.peak)} is over BENCH_LOADED_MAX`);
    setMaxMemory(streamBudget);
    if (rdmStreams(member)) budgets.push(['streamed', streamBudget]);
    // And the largest budget that still streams (at most the default, half the available memory): wider blocks.
    const wide = Math.floor(Math.min(loadedBytes(n, d, 4) - 1, Math.min(freemem(), totalmem()) / 2) / STEP) * STEP;
    if (WIDE && wide > streamBudget) budgets.push(['streamed', wide]);
    for (const [want, budget] of budgets) {
      setMaxMemory(budget);
      const e = rdmMemory(member);
      const flag = `${Math.round(budget / 1024 ** 2)}M`;
      const dry = run(['--max-memory', flag, 'rdm', file, '--center', '--dry-run']).out;
      const path = dry.includes('streamed in') ? 'streamed' : 'loaded';
      if (path !== want) throw new Error(`${file}: expected the ${want} path under --max-memory ${flag}, --dry-run says:\n${dry}`);
      const r = run(['--max-memory', flag, 'rdm', file, '--center']);
      const expected = e.peak + RUNTIME_BYTES;
      const peak = r.peakKiB * 1024;
      const summary = /off-diagonal (.*)$/m.exec(r.out)?.[1] ?? r.out.split('\n')[0];
      console.log(
        `${n} × ${d} | ${formatBytes(statSync(file).size)} | ${path} | ${flag} | ${formatBytes(expected)} | ${formatBytes(peak)} | ` +
          `${(peak / expected).toFixed(2)} | ${r.wallS.toFixed(1)} s | ${summary}`,
      );
    }
  }
  if (RSA.length) console.log('\nN × D × M | path | budget | estimate (data + runtime) | measured peak RSS | measured / estimate | wall | similarity');
  for (const [n, d, m] of RSA) {
    const folder = join(DIR, `rsa-${n}x${d}x${m}`);
    await mkdir(folder, { recursive: true });
    const members: MemberShape[] = [];
    for (let k = 0; k < m; k++) {
      // Each member its own seed: the same generator as above with a different N × D salt.
      writeFeatures(join(folder, `m${k}.npy`), n, d, k);
      members.push({ label: `m${k}`, n, p: d, bytesPerValue: 4 });
    }
    setMaxMemory(undefined);
    const budget = Math.floor(Math.min(freemem(), totalmem()) / 2);
    setMaxMemory(budget);
    const e = similarityMemory(members, 'rsa', { oneAtATime: true });
    const flag = `${Math.floor(budget / 1024 ** 2)}M`;
    const r = run(['--max-memory', flag, 'similarity', folder, '--measure', 'rsa']);
    const expected = e.peak + RUNTIME_BYTES;
    const peak = r.peakKiB * 1024;
    const value = /m0\s+1(?:\.0+)?\s+(-?[\d.]+)/.exec(r.out)?.[1] ?? r.out.split('\n').slice(-2).join(' ');
    console.log(
      `${n} × ${d} × ${m} | loaded one at a time | ${flag} | ${formatBytes(expected)} | ${formatBytes(peak)} | ${(peak / expected).toFixed(2)} | ${r.wallS.toFixed(1)} s | m0–m1 ${value}`,
    );
  }
  setMaxMemory(undefined);
  console.log(`load average after: ${load()}`);
}

await main();
