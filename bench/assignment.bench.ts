/**
 * `npx tsx bench/assignment.bench.ts [FEATURES]` (issue 16): the exact channel matching of `permutation:units=channels`
 * on real square pairs of the demo's feature set (default `taskmap-demo/features`, written by `taskmap demo`),
 * solved from the plain costs −XᵀY and from the distance costs that `maxAssignment`'s offsets give (half the squared
 * channel norms per row and column), same run. Prints both times, their ratio and the two optima (equal up to
 * rounding: the offsets do not change the optimal assignment).
 * Options: BENCH_PAIRS (comma-separated a/b labels; default three 1,024–1,280-channel pairs).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { readNpy } from '../src/io/npy.js';
import { maxAssignment } from '../src/measures/transport.js';

const dir = process.argv[2] ?? 'taskmap-demo/features';
const pairs = (process.env.BENCH_PAIRS ?? 'handtrack/movenet-lightning,faceres/faceres-deep,handlandmark-full/handlandmark-sparse')
  .split(',')
  .map((p) => p.split('/'));

/** A channel-last map's channels as columns over (image, position) samples, each centred. */
async function channels(label: string): Promise<{ c: number; rows: number; x: Float64Array }> {
  const a = readNpy(await readFile(join(dir, `${label}.npy`)), label);
  const c = a.shape[a.shape.length - 1];
  const rows = a.data.length / c;
  const x = Float64Array.from(a.data as Float32Array);
  for (let j = 0; j < c; j++) {
    let mean = 0;
    for (let i = 0; i < rows; i++) mean += x[i * c + j] / rows;
    for (let i = 0; i < rows; i++) x[i * c + j] -= mean;
  }
  return { c, rows, x };
}

console.log(
  `exact channel matching on ${dir}; load average before: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
for (const [A, B] of pairs) {
  const a = await channels(A);
  const b = await channels(B);
  if (a.c !== b.c || a.rows !== b.rows) throw new Error(`${A}/${B}: not a square pair on the same samples (${a.c} vs ${b.c} channels)`);
  const c = a.c;
  const cross = new Float64Array(c * c);
  const na = new Float64Array(c);
  const nb = new Float64Array(c);
  for (let r = 0; r < a.rows; r++)
    for (let i = 0; i < c; i++) {
      const v = a.x[r * c + i];
      na[i] += v * v;
      nb[i] += b.x[r * c + i] ** 2;
      for (let j = 0; j < c; j++) cross[i * c + j] += v * b.x[r * c + j];
    }
  let t = performance.now();
  const plain = maxAssignment(cross, c, c);
  const msPlain = performance.now() - t;
  t = performance.now();
  const offset = maxAssignment(cross, c, c, { rows: na.map((v) => v / 2), cols: nb.map((v) => v / 2) });
  const msOffset = performance.now() - t;
  console.log(
    `${A} / ${B} (${c} channels): plain costs ${(msPlain / 1000).toFixed(2)} s, distance costs ${(msOffset / 1000).toFixed(2)} s ` +
      `→ ${(msPlain / msOffset).toFixed(1)}×; optimum ${plain.toPrecision(12)} vs ${offset.toPrecision(12)}`,
  );
}
console.log(
  `load average after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
