/**
 * What the whole-process benches share (issue 15: taskmap's built CLI against a numpy/scipy script, each run as a
 * process on the same seeded files): the feature sets, the wall-clock timer, medians, the largest difference
 * between two written .npy outputs and the load average the timings were taken under.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { readNpy, writeNpy } from '../src/io/npy.js';
import { mulberry32 } from '../src/linalg/resample.js';

/** The repository root (benches run the CLI from here). */
export const root = new URL('..', import.meta.url).pathname;

/**
 * `models` float32 .npy files of `images` × `features` in `dir` (model00.npy, …), seeded: near-Gaussian noise plus
 * a model-dependent shared structure, so similarity matrices are not all ~0. Written once: `<dir>.complete`, beside
 * the folder so that the folder holds the feature set alone, marks it.
 */
export async function writeSeededSet(dir: string, models: number, images: number, features: number): Promise<void> {
  const done = `${dir}.complete`;
  if (existsSync(done)) return;
  await mkdir(dir, { recursive: true });
  const D = features;
  for (let m = 0; m < models; m++) {
    const u = mulberry32(1000 + m);
    const data = new Float32Array(images * D);
    for (let i = 0; i < data.length; i++) data[i] = u() + u() + u() - 1.5 + ((i % D) % (m + 2)) * 0.01 * Math.floor(i / D / 50);
    await writeFile(join(dir, `model${String(m).padStart(2, '0')}.npy`), writeNpy({ dtype: 'float32', shape: [images, D], data }));
  }
  await writeFile(done, '');
}

/** Wall-clock milliseconds of one process run from the repository root; a failed run throws with its stderr. */
export function wallMs(cmd: string, args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}

export function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The largest |a − b| between the values of two .npy files of the same size. */
export async function maxNpyDifference(a: string, b: string): Promise<number> {
  const x = readNpy(await readFile(a), a).data as ArrayLike<number>;
  const y = readNpy(await readFile(b), b).data as ArrayLike<number>;
  if (x.length !== y.length) throw new Error(`${a} has ${x.length} values, ${b} has ${y.length}`);
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
  return d;
}

/** The 1, 5 and 15 minute load averages, for the lines printed before and after the timings. */
export function loadAverage(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}
