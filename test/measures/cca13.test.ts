/**
 * The CKA values of the closed-form CCA/CKA fixture (docs/measures.md#check-values) (reference: DDS utils.py), through
 * the measure registry. Values are printed to full precision in the spec → tolerance 1e-9.
 */
import { describe, expect, it } from 'vitest';
import { pairSimilarity } from '../../src/measures/similarity.js';
import { X, Y } from '../fixtures/cca13.js';

const TOL = 1e-9;

describe('§13.3 fixture generator', () => {
  it('has the documented sizes', () => {
    expect([X.n, X.p, X.data.length]).toEqual([30, 6, 180]);
    expect([Y.n, Y.p, Y.data.length]).toEqual([30, 5, 150]);
    expect(X.shape).toEqual([6]);
    expect(Y.shape).toEqual([5]);
  });
  it('reproduces spot values (X[0][j] = (31(j+2) mod 37)/37 + 0.1 j; numpy values)', () => {
    expect(Array.from(X.data.subarray(0, 6))).toEqual([
      0.6756756756756757, 0.6135135135135135, 0.5513513513513514, 0.48918918918918924, 0.42702702702702705, 1.364864864864865,
    ]);
    expect(X.data[0]).toBe(25 / 37);
    expect(Array.from(X.data.subarray(29 * 6, 30 * 6))).toEqual([
      0.2702702702702703, 0.5054054054054055, 0.7405405405405405, 0.9756756756756757, 1.2108108108108109, 1.445945945945946,
    ]);
    expect(Array.from(Y.data.subarray(5, 10))).toEqual([0.4950978564771668, 0.5726281453867661, 0.3501584342963654, 0.6276887232059647, 0.7052190121155638]);
    expect(Array.from(Y.data.subarray(29 * 5, 30 * 5))).toEqual([
      0.7926747437092263, 0.6218359739049395, 0.45099720410065236, 0.2801584342963653, 1.1093196644920784,
    ]);
  });
});

describe('§13.3 CKA values', () => {
  const cases: [string, string, number][] = [
    ['linear CKA biased', 'cka:kernel=linear', 0.4154408372184612],
    ['linear CKA unbiased', 'cka:kernel=linear,debiased', 0.3121863609001373],
    ['RBF CKA t = 0.5 biased', 'cka:kernel=rbf,t=0.5', 0.576497264875373],
    ['RBF CKA t = 0.5 unbiased', 'cka:kernel=rbf,t=0.5,debiased', 0.1294406938565094],
    ['RBF CKA t = 1.0 biased', 'cka:kernel=rbf,t=1', 0.45339644747197066],
    ['Laplacian CKA unbiased (γ = 1/p per side)', 'dds:norm=none,kernel=lap', 0.2673523943645727],
  ];
  for (const [name, id, want] of cases) {
    it(`${name} (${id})`, async () => {
      const got = await pairSimilarity(X, Y, id);
      expect(Math.abs(got - want), `${id}: got ${got}, want ${want}`).toBeLessThanOrEqual(TOL);
      const swapped = await pairSimilarity(Y, X, id);
      expect(Math.abs(swapped - want), `${id} (Y, X): got ${swapped}, want ${want}`).toBeLessThanOrEqual(TOL);
    });
  }
});
