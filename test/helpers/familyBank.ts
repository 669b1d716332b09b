/** A fabricated task bank with a known family structure, for the task bank's evaluation and report tests. */
import { evaluateTaskbank, type ProbeFeatures, type TaskbankEvalInput, type TaskbankEvaluation } from '../../src/benchmark/taskbankEval.js';
import { mulberry32 } from '../../src/linalg/resample.js';
import type { LossRecord } from '../../src/taskonomy/winrates.js';

export interface FamilyBankOptions {
  /** Family letters; each family has two tasks, `<letter>1` and `<letter>2`, of family `family-<letter>`. */
  families: string[];
  /** Test images per target. */
  images: number;
  /** Uniform loss noise on top of the levels (self 0, own encoder 0.5, family mate 1, other family 2, baselines 3). */
  lossNoise: number;
  /** Probe crops, latent factors per family, feature columns, and the Gaussian noise on the features. */
  probe: { n: number; latent: number; d: number; noise: number };
  /** Passed to evaluateTaskbank (measures, budgets, permutations, imageDraws). */
  evaluate: Pick<TaskbankEvalInput, 'measures' | 'budgets' | 'permutations' | 'imageDraws'>;
}

/** The tasks of `families`, two per family. */
export function familyTasks(families: readonly string[]): { id: string; family: string }[] {
  return families.flatMap((f) => [`${f}1`, `${f}2`].map((id) => ({ id, family: `family-${f}` })));
}

/**
 * Losses where a task's family mate transfers better than any other family's encoder (gaps wider than the noise when
 * lossNoise < 1), and encoders where a family's two tasks read the same latent factors. Seeded (mulberry32).
 */
export function familyBankEvaluation(seed: number, o: FamilyBankOptions): Promise<TaskbankEvaluation> {
  const tasks = familyTasks(o.families);
  const r = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const fam = (id: string) => id[0];
  const losses: LossRecord[] = [];
  for (const t of tasks)
    for (const s of [...tasks.map((x) => x.id), 'pixels', 'random', 'self']) {
      const level = s === 'self' ? 0 : s === 'pixels' || s === 'random' ? 3 : s === t.id ? 0.5 : fam(s) === fam(t.id) ? 1 : 2;
      for (let i = 0; i < o.images; i++) losses.push({ target: t.id, source: s, image: `crop-${i}`, loss: level + o.lossNoise * r() });
    }
  const { n, latent: k, d, noise } = o.probe;
  const latent = new Map(o.families.map((f) => [f, Array.from({ length: n * k }, gauss)]));
  const probe = new Map<string, ProbeFeatures>();
  for (const t of tasks) {
    const z = latent.get(fam(t.id))!;
    const w = Array.from({ length: k * d }, gauss);
    const data = new Float32Array(n * d);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < d; c++) {
        let v = noise * gauss();
        for (let q = 0; q < k; q++) v += z[i * k + q] * w[q * d + c];
        data[i * d + c] = v;
      }
    probe.set(t.id, { data, n, d });
  }
  return evaluateTaskbank({ tasks, losses, probeFeatures: probe, ...o.evaluate });
}
