/**
 * A small synthetic "model zoo" feature set for the server and browser tests: models in task families that share
 * a latent structure on the same images, so the similarity matrix has a visible block structure, the tree groups
 * each family, and the zoo manifest format (`manifest.json` entries with `model.family`) carries the families.
 * Deterministic (mulberry32), written with the library's own saveFeatureSet.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { saveFeatureSet } from '../../src/features/featureSet.js';
import type { Representation } from '../../src/features/types.js';
import { mulberry32 } from '../../src/linalg/resample.js';

/** Synthetic models (not the real zoo's), named by family so that no one mistakes their numbers for real ones. */
export const ZOO_FAMILIES: Record<string, string[]> = {
  pose: ['pose-a', 'pose-b', 'pose-c'],
  face: ['face-a', 'face-b', 'face-c'],
  segmentation: ['seg-a', 'seg-b'],
  detection: ['det-a', 'det-b', 'det-c'],
};

function gaussian(random: () => number): number {
  // Box–Muller; 1 − u keeps the logarithm finite.
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Write the zoo-like set to `<dir>` (one .npy per model + manifest.json); returns label → family. */
export async function writeZooFixture(dir: string, opts: { images?: number; features?: number; seed?: number } = {}): Promise<Record<string, string>> {
  const n = opts.images ?? 48;
  const p = opts.features ?? 24;
  const random = mulberry32(opts.seed ?? 7);
  const latentDim = 6;
  const latent = (): Float64Array => Float64Array.from({ length: n * latentDim }, () => gaussian(random));
  const shared = latent();
  const members: Representation[] = [];
  const families: Record<string, string> = {};
  for (const [family, models] of Object.entries(ZOO_FAMILIES)) {
    const z = latent();
    models.forEach((label, k) => {
      const noise = 0.35 + 0.15 * k;
      const w = Float64Array.from({ length: latentDim * p }, () => gaussian(random));
      const ws = Float64Array.from({ length: latentDim * p }, () => gaussian(random));
      const data = new Float32Array(n * p);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < p; j++) {
          let v = noise * gaussian(random);
          for (let d = 0; d < latentDim; d++) v += z[i * latentDim + d] * w[d * p + j] + 0.35 * shared[i * latentDim + d] * ws[d * p + j];
          data[i * p + j] = Math.tanh(v / 3);
        }
      }
      members.push({ label, n, p, shape: [p], data, source: label });
      families[label] = family;
    });
  }
  await mkdir(dir, { recursive: true });
  await saveFeatureSet(dir, { n, members });
  const manifest = {
    format: 'taskmap-features',
    version: 1,
    entries: members.map((m) => ({ label: m.label, file: `${m.label}.npy`, model: { id: m.label, family: families[m.label] } })),
  };
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  return families;
}

/** A tiny tournaments file (wins JSON, `taskmap ahp --wins` format) with `pixels` and `self` baselines. */
export function tournamentsFixture(): Record<string, { sources: string[]; wins: number[][] }> {
  const sources = ['a', 'b', 'pixels', 'self'];
  const wins = (q: number[]) => q.map((qi, i) => q.map((qj, j) => (i === j ? 0.5 : qi / (qi + qj))));
  return {
    c: { sources, wins: wins([0.6, 0.3, 0.2, 0.7]) },
    d: { sources: ['a', 'c', 'pixels', 'self'], wins: wins([0.2, 0.5, 0.25, 0.65]) },
  };
}
