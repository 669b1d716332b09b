/**
 * `npx tsx bench/rank.bench.ts`: source ranking with the subsampling bootstrap, 20 candidates × 500 images × 2048
 * features (float32), 100 draws of 200 images, for RSA, DDS (znorm + cosine) and linear CKA. Printed against two
 * references measured in the same run:
 *   - one batched crossSimilarity of the 20 pre-subset candidates vs the target on 200 images: the floor for one
 *     draw, so the ratio is the protocol's own overhead (subsetting, rebuilding the target);
 *   - the same draw scored pair by pair (pairSimilarity per candidate, the target prepared again each time).
 * Options: BENCH_MODELS, BENCH_N, BENCH_D, BENCH_DRAWS, BENCH_SUBSET, BENCH_MEASURES (comma-separated ids),
 * BENCH_PRECISION (float64 default, or float32 for the n×n GEMMs).
 */
import type { Representation } from '../src/features/types.js';
import { getGemmEngine, type Precision } from '../src/linalg/gemm.js';
import { mulberry32, sampleWithoutReplacement } from '../src/linalg/resample.js';
import { crossSimilarity, pairSimilarity } from '../src/measures/similarity.js';
import { rankSources, subsetImages } from '../src/taxonomy/rank.js';

const M = Number(process.env.BENCH_MODELS ?? 20);
const N = Number(process.env.BENCH_N ?? 500);
const D = Number(process.env.BENCH_D ?? 2048);
const DRAWS = Number(process.env.BENCH_DRAWS ?? 100);
const SUBSET = Number(process.env.BENCH_SUBSET ?? 200);
const MEASURES = (process.env.BENCH_MEASURES ?? 'rsa,dds,cka').split(',');
const precision = (process.env.BENCH_PRECISION ?? 'float64') as Precision;

function randomRep(label: string, seed: number, p = D): Representation {
  const u = mulberry32(seed);
  const data = new Float32Array(N * p);
  for (let i = 0; i < data.length; i++) data[i] = u() + u() + u() - 1.5; // cheap near-Gaussian, seeded
  return { label, n: N, p, shape: [p], data, source: 'bench' };
}

const engine = await getGemmEngine();
const candidates = Array.from({ length: M }, (_, m) => randomRep(`model${String(m).padStart(2, '0')}`, 1000 + m));
const target = randomRep('target', 7, 512);
console.log(
  `${M} candidates × ${N} images × ${D} features (float32), target ${target.p} features; ${DRAWS} draws of ${SUBSET}; engine ${engine.name}, GEMM ${precision}`,
);

for (const measure of MEASURES) {
  const idx = sampleWithoutReplacement(N, SUBSET, mulberry32(1));
  const subCands = candidates.map((c) => subsetImages(c, idx));
  const subTarget = subsetImages(target, idx);
  let t0 = performance.now();
  await crossSimilarity(subCands, [subTarget], measure, { engine, precision });
  const batched = performance.now() - t0;
  t0 = performance.now();
  for (const c of subCands) await pairSimilarity(c, subTarget, measure, { engine, precision });
  const pairwise = performance.now() - t0;

  t0 = performance.now();
  const r = await rankSources(
    candidates,
    { kind: 'representation', representation: target },
    { measure, bootstrap: DRAWS, subset: SUBSET, seed: 1, engine, precision },
  );
  const total = performance.now() - t0;
  const perDraw = total / (DRAWS + 1); // + the full-data pass (on N images)
  console.log(
    `${r.measure.padEnd(30)} total ${(total / 1000).toFixed(1)} s  ·  ${perDraw.toFixed(0)} ms per draw  ·  ` +
      `one batched draw ${batched.toFixed(0)} ms (ratio ${(perDraw / batched).toFixed(2)})  ·  pair by pair ${pairwise.toFixed(0)} ms ` +
      `(${(pairwise / batched).toFixed(2)}× the batched draw)`,
  );
}
