import { describe, expect, it } from 'vitest';
import { AHP_CLIP, ahpAffinities, ahpWeights, randomIndex, reciprocalMatrix } from '../../src/taskonomy/ahp.js';
import { toRows } from '../../src/linalg/dense.js';
import { parseLossCsv, tournamentsFromLosses, type Tournament } from '../../src/taskonomy/winrates.js';

const close = (actual: ArrayLike<number>, expected: number[], tol: number) => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(Math.abs(actual[i] - e)).toBeLessThan(tol));
};

describe('AHP on hand-worked tournaments', () => {
  it('2×2: W′ = [[1, r], [1/r, 1]] has eigenvector (r, 1)/(r + 1) and λ = 2', () => {
    // 0.8 / 0.2 = 4 → (0.8, 0.2).
    const r = ahpWeights([
      [0.5, 0.8],
      [0.2, 0.5],
    ]);
    close(r.weights, [0.8, 0.2], 1e-14);
    expect(r.lambdaMax).toBeCloseTo(2, 14);
    expect(r.consistencyIndex).toBeCloseTo(0, 14);
    expect(r.consistencyRatio).toBe(0);
  });

  it('2×2 with a candidate that never loses: the clip makes the ratio 0.999/0.001 = 999', () => {
    const r = ahpWeights([
      [0.5, 1],
      [0, 0.5],
    ]);
    close(r.weights, [0.999, 0.001], 1e-14);
    expect(
      reciprocalMatrix([
        [0.5, 1],
        [0, 0.5],
      ]).data[1],
    ).toBeCloseTo(999, 9);
  });

  it('3×3 inconsistent: closed-form Perron root and vector', () => {
    // W′ = [[1, 2, 4], [1/2, 1, 1], [1/4, 1, 1]]. For a 3×3 reciprocal matrix with a12 = a, a13 = b, a23 = c,
    // λ = 1 + (b/(ac))^(1/3) + (ac/b)^(1/3); here b/(ac) = 2, so μ = λ − 1 = 2^(1/3) + 2^(−1/3).
    // With v3 = 1 the first two rows of (W′ − λI)v = 0 read −μ v1 + 2 v2 = −4 and v1/2 − μ v2 = −1, so
    // v2 = (2 + μ)/(μ² − 1) and v1 = 2μ v2 − 2.
    const W = [
      [0.5, 2 / 3, 0.8],
      [1 / 3, 0.5, 0.5],
      [0.2, 0.5, 0.5],
    ];
    const mu = 2 ** (1 / 3) + 2 ** (-1 / 3);
    const v2 = (2 + mu) / (mu * mu - 1);
    const v1 = 2 * mu * v2 - 2;
    const s = v1 + v2 + 1;
    const r = ahpWeights(W);
    close(r.weights, [v1 / s, v2 / s, 1 / s], 1e-12);
    expect(r.lambdaMax).toBeCloseTo(1 + mu, 12);
    expect(r.consistencyIndex).toBeCloseTo(mu / 2 - 1, 12);
    expect(r.consistencyRatio).toBeCloseTo((mu / 2 - 1) / 0.58, 12);
  });

  it('reproduces the §13.5 worked example', () => {
    const r = ahpWeights([
      [0.5, 0.7, 0.9, 1.0],
      [0.3, 0.5, 0.6, 0.8],
      [0.1, 0.4, 0.5, 0.55],
      [0.0, 0.2, 0.45, 0.5],
    ]);
    close(r.weights, [0.903713338705, 0.067553490331, 0.023148936324, 0.00558423464], 1e-11);
    expect(Math.abs(r.lambdaMax - 7.577988161050054)).toBeLessThan(1e-9);
    const ratios = toRows(
      reciprocalMatrix([
        [0.5, 1.0],
        [0.0, 0.5],
      ]),
    );
    expect(ratios[1][0]).toBeCloseTo(0.001 / 0.999, 15);
  });

  it('matches numpy.linalg.eig on a 6×6 tournament with exact 0 and 1 entries (1e-9)', () => {
    // W[i][j] (i < j) = ((7i + 3j) mod 11 + 1)/12 when (i + j) mod 4 ≠ 0, else 1 (i even) or 0 (i odd);
    // W[j][i] = 1 − W[i][j]. Reference: numpy 2.4 eig of clip(W) / clip(W)ᵀ, |eigenvector| L1-normalised.
    const m = 6;
    const W = Array.from({ length: m }, () => new Array<number>(m).fill(0.5));
    for (let i = 0; i < m; i++) {
      for (let j = i + 1; j < m; j++) {
        W[i][j] = (i + j) % 4 ? (((7 * i + 3 * j) % 11) + 1) / 12 : i % 2 ? 0 : 1;
        W[j][i] = 1 - W[i][j];
      }
    }
    const r = ahpWeights(W);
    close(r.weights, [0.38447203203632874, 0.007602083611846332, 0.010449409943562901, 0.06115062702240316, 0.04796614031428978, 0.4883597070715691], 1e-9);
    expect(Math.abs(r.lambdaMax - 127.38418880470604)).toBeLessThan(1e-8);
  });
});

describe('AHP properties', () => {
  it('a Bradley–Terry tournament is consistent and returns its generating weights exactly', () => {
    const s = [5, 3, 1.5, 0.5, 2.25];
    const W = s.map((si) => s.map((sj) => si / (si + sj)));
    const r = ahpWeights(W);
    const total = s.reduce((a, b) => a + b, 0);
    close(
      r.weights,
      s.map((x) => x / total),
      1e-13,
    );
    expect(Math.abs(r.lambdaMax - s.length)).toBeLessThan(1e-12);
    expect(Math.abs(r.consistencyIndex)).toBeLessThan(1e-12);
  });

  it('weights are positive and sum to 1 on random complementary tournaments', () => {
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let trial = 0; trial < 10; trial++) {
      const m = 3 + trial;
      const W = Array.from({ length: m }, () => new Array<number>(m).fill(0.5));
      for (let i = 0; i < m; i++) {
        for (let j = i + 1; j < m; j++) {
          W[i][j] = Math.round(rand() * 40) / 40;
          W[j][i] = 1 - W[i][j];
        }
      }
      const r = ahpWeights(W);
      expect(Math.abs(r.weights.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-14);
      expect(Math.min(...r.weights)).toBeGreaterThan(0);
      // Perron root of a positive reciprocal matrix is ≥ m, with equality only when consistent.
      expect(r.lambdaMax).toBeGreaterThanOrEqual(m - 1e-9);
    }
  });

  it("uses Saaty's random index table up to 15 and the Alonso–Lamata fit beyond", () => {
    expect([1, 2, 3, 4, 10, 15].map(randomIndex)).toEqual([0, 0, 0.58, 0.9, 1.49, 1.59]);
    expect(randomIndex(16)).toBeCloseTo((2.7699 * 16 - 4.3513 - 16) / 15, 12);
    expect(() => randomIndex(0)).toThrow(/positive integer/);
  });

  it('validates its input', () => {
    expect(() => ahpWeights([])).toThrow(/empty tournament/);
    expect(() => ahpWeights([[0.5, 0.5], [0.5]])).toThrow(/row 1 has 1 values, expected 2/);
    expect(() =>
      ahpWeights([
        [0.5, Number.NaN],
        [0.5, 0.5],
      ]),
    ).toThrow(/entry \[0\]\[1\] is NaN/);
    expect(() => ahpWeights([[0.5]], { clip: [0, 1] })).toThrow(/clip range/);
    expect(AHP_CLIP).toEqual([0.001, 0.999]);
  });
});

describe('ahpAffinities', () => {
  it('turns tournaments into a Taskonomy dict, leaving the pixels baseline out', () => {
    const tournaments: Tournament[] = [
      {
        target: 't',
        sources: ['self', 'a', 'b__c', 'pixels'],
        wins: [
          [0.5, 0.8, 0.6, 0.9],
          [0.2, 0.5, 0.4, 0.7],
          [0.4, 0.6, 0.5, 0.8],
          [0.1, 0.3, 0.2, 0.5],
        ],
      },
      {
        target: 'u',
        sources: ['self', 'a'],
        wins: [
          [0.5, 0.75],
          [0.25, 0.5],
        ],
      },
    ];
    const { affinities, consistency } = ahpAffinities(tournaments);
    expect(Object.keys(affinities).sort()).toEqual(['a__t', 'a__u', 'b__c__t', 'self__t', 'self__u']);
    // Same numbers as the AHP of the 3×3 sub-tournament without pixels.
    const sub = ahpWeights([
      [0.5, 0.8, 0.6],
      [0.2, 0.5, 0.4],
      [0.4, 0.6, 0.5],
    ]).weights;
    expect(affinities.self__t).toBe(sub[0]);
    expect(affinities.a__t).toBe(sub[1]);
    expect(affinities.b__c__t).toBe(sub[2]);
    expect(affinities.self__u).toBeCloseTo(0.75, 14);
    expect(affinities.self__t + affinities.a__t + affinities.b__c__t).toBeCloseTo(1, 14);
    expect(consistency.map((c) => [c.target, c.candidates])).toEqual([
      ['t', 3],
      ['u', 2],
    ]);
  });

  it('runs end to end from a losses CSV', () => {
    // Losses generated so that a beats self on 3 of 4 images and self beats b on all: a > self > b.
    const csv = ['target,source,image,loss']
      .concat(
        ['1,0,2', '1,0,2', '1,0,2', '0,1,2'].flatMap((row, x) => {
          const [self, a, b] = row.split(',');
          return [`t,self,${x},${self}`, `t,a,${x},${a}`, `t,b,${x},${b}`];
        }),
      )
      .join('\n');
    const { affinities } = ahpAffinities(tournamentsFromLosses(parseLossCsv(csv)));
    expect(affinities.a__t).toBeGreaterThan(affinities.self__t);
    expect(affinities.self__t).toBeGreaterThan(affinities.b__t);
    // The 3×3 tournament is [[.5,.25,1],[.75,.5,1],[0,0,.5]]: check against the direct computation.
    const direct = ahpWeights([
      [0.5, 0.25, 1],
      [0.75, 0.5, 1],
      [0, 0, 0.5],
    ]).weights;
    expect([affinities.self__t, affinities.a__t, affinities.b__t]).toEqual(Array.from(direct));
  });

  it('names a target left without candidates', () => {
    expect(() => ahpAffinities([{ target: 't', sources: ['pixels'], wins: [[0.5]] }])).toThrow(/target "t" has no candidate left/);
  });
});
