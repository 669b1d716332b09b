import { describe, expect, it } from 'vitest';
import { cosineSimilarity, kendallTauB, pearson, spearman, weightedTau } from '../../src/linalg/correlation.js';

// Float64 results of a different summation order than scipy's agree to a few ulp.
const TOL = 1e-13;
const close = (actual: number, expected: number, tol = TOL) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tol);

describe('check values (scipy 1.17)', () => {
  const a = [0.9, 0.8, 0.8, 0.3, 0.1, 0.5];
  const b = [10, 7, 9, 2, 2, 4];

  it('tied example: Spearman, Kendall τ-b, Pearson, weightedtau and its options', () => {
    close(spearman(a, b), 0.9705882352941178);
    close(kendallTauB(a, b), 0.9285714285714286);
    close(pearson(a, b), 0.950496913043515);
    close(weightedTau(a, b), 0.9486881540658599);
    close(weightedTau(a, b, { rank: null }), 0.9486881540658599);
    close(weightedTau(a, b, { additive: false }), 0.9540646527893839);
  });

  it('scipy documentation examples of weightedtau', () => {
    const x = [12, 2, 1, 12, 2];
    const y = [1, 4, 7, 1, 0];
    close(weightedTau(x, y), -0.56694968153682723);
    close(weightedTau(x, y, { additive: false }), -0.62205716951801038);
    // a constant weigher turns the weighted τ into Kendall's τ-b
    close(weightedTau(x, y, { weigher: () => 1 }), -0.47140452079103173);
    close(kendallTauB(x, y), -0.47140452079103173);
    close(weightedTau(x, y, { rank: null }), -0.4157652301037516);
    close(weightedTau(y, x, { rank: null }), -0.7181341329699028);
    // NaN counts as the smallest value, and y[4] = 0 already was the smallest
    close(weightedTau(x, [1, 4, 7, 1, Number.NaN]), -0.56694968153682723);
  });

  it('constant input is undefined (NaN)', () => {
    expect(spearman([1, 1, 1, 1], [1, 2, 3, 4])).toBeNaN();
    expect(weightedTau([1, 2, 3, 4], [5, 5, 5, 5])).toBeNaN();
    expect(weightedTau([5, 5, 5, 5], [1, 2, 3, 4])).toBeNaN();
    expect(kendallTauB([2, 2, 2], [1, 2, 3])).toBeNaN();
    expect(pearson([1, 2, 3], [7, 7, 7])).toBeNaN();
  });

  it('TLlib CIFAR10 model-ranking table (scores vs fine-tuned accuracy, two ties in accuracy)', () => {
    const accuracy = [96.2, 97.5, 96.8, 97.7, 97.9, 97.2, 97.4, 97.4, 95.7, 96.8];
    const scores: Record<string, [number[], number, number]> = {
      HScore: [[5.911, 6.363, 6.567, 6.901, 6.945, 6.21, 6.547, 6.706, 5.928, 6.018], 0.7997431653611273, 0.8394563829158007],
      LEEP: [[-1.385, -1.259, -1.01, -0.829, -0.838, -1.035, -0.934, -0.888, -1.1, -1.066], 0.6382118708667915, 0.6031329508507637],
      LogME: [[0.293, 0.349, 0.388, 0.463, 0.469, 0.302, 0.343, 0.369, 0.291, 0.304], 0.7846427033798395, 0.7312387642877192],
      NCE: [[-1.139, -1.06, -1.007, -0.838, -0.851, -1.006, -0.946, -0.866, -1.089, -1.086], 0.7137517833710805, 0.7854871648243378],
    };
    for (const [score, wtau, r] of Object.values(scores)) {
      close(weightedTau(score, accuracy), wtau);
      close(pearson(score, accuracy), r);
    }
  });
});

describe('agreement with scipy on tied formula data (n = 12 … 5000)', () => {
  // Exact dyadic values, so TypeScript and numpy build bit-identical inputs:
  // x_i = ((7i² + 13i + 5) mod 41)/8, y_i = ((11i² + 3i + 1) mod 37)/4 + x_i.
  const xs = (n: number) => Float64Array.from({ length: n }, (_, i) => ((i * i * 7 + i * 13 + 5) % 41) / 8);
  const ys = (n: number) => {
    const x = xs(n);
    return Float64Array.from({ length: n }, (_, i) => ((i * i * 11 + 3 * i + 1) % 37) / 4 + x[i]);
  };
  // scipy 1.17: pearsonr, spearmanr, kendalltau; weightedtau default, additive=False, rank=None, rank=None with
  // the arguments swapped, rank=False.
  const reference: [number, number[]][] = [
    [
      12,
      [
        0.7841855863814197, 0.7258359188359303, 0.5736606474750892, 0.6944652248591767, 0.7592724018429873, 0.6784479795986291, 0.7104824701197242,
        0.6552734467174092,
      ],
    ],
    [
      50,
      [
        0.6509404154417534, 0.6412940812084623, 0.4797924709503958, 0.6721924338354048, 0.7024958449337233, 0.6600998706899918, 0.6842849969808179,
        0.5386574862385399,
      ],
    ],
    [
      200,
      [
        0.498717651544654, 0.47220941276648604, 0.3492687037117046, 0.6010833550232372, 0.6102009381755455, 0.5735860749612326, 0.6285806350852418,
        0.43827041492430424,
      ],
    ],
    [
      1000,
      [
        0.4908694471357203, 0.4674459889268853, 0.34211762371096655, 0.6607957322725689, 0.6368954607312829, 0.6368859585738067, 0.6847055059713312,
        0.41818623166325103,
      ],
    ],
    [
      5000,
      [
        0.49285052535697027, 0.4721862107841625, 0.34523951083017124, 0.7082432111337398, 0.659193457842258, 0.6891402236809665, 0.7273461985865132,
        0.4071318162042988,
      ],
    ],
  ];
  for (const [n, expected] of reference) {
    it(`n = ${n}`, () => {
      const x = xs(n);
      const y = ys(n);
      const actual = [
        pearson(x, y),
        spearman(x, y),
        kendallTauB(x, y),
        weightedTau(x, y),
        weightedTau(x, y, { additive: false }),
        weightedTau(x, y, { rank: null }),
        weightedTau(y, x, { rank: null }),
        weightedTau(x, y, { rank: false }),
      ];
      actual.forEach((v, k) => close(v, expected[k]));
    });
  }
});

describe('weightedTau options and NaN handling (scipy 1.17)', () => {
  const y = [2, 7, 1, 8, 2, 8, 1, 8, 2, 8];

  it('NaN ranks below every number, in either argument', () => {
    const x = [3, Number.NaN, 1, 4, 1, 5, 9, 2, 6, Number.NaN];
    close(weightedTau(x, y), -0.21765470498391357);
    close(weightedTau(x, y, { rank: null }), -0.42558132872968923);
    close(weightedTau(y, x, { additive: false }), -0.2786176318012729);
  });

  it('NaN ranks below -Infinity rather than tying with it', () => {
    close(weightedTau([Number.NaN, -Infinity, 0, 1, 2], [0, 1, 0, 3, 2]), 0.5037019914346839);
    close(weightedTau([-Infinity, -Infinity, 0, 1, 2], [0, 1, 0, 3, 2]), 0.460950391831442);
  });

  it('accepts a custom rank array and weigher', () => {
    const x = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
    const rank = [4, 0, 2, 1, 3, 9, 8, 7, 6, 5];
    close(weightedTau(x, y, { rank }), -0.10753806848115717);
    close(weightedTau(x, y, { rank, weigher: (k) => 1 / (k + 1) ** 2, additive: false }), -0.4837931934658158);
    expect(() => weightedTau(x, y, { rank: [0, 1] })).toThrow(/rank has 2 values/);
  });

  it('matches the O(n²) definition of §12 with element weights from the index (rank = false)', () => {
    const x = [0.3, -1.2, 0.3, 2.5, 0.3, -1.2, 4.0, 0.0, 2.5, -3.1, 0.7, 0.7];
    const z = [1, 5, 1, 0, 2, 5, 3, 3, -2, 1, 8, 8];
    for (const additive of [true, false]) {
      const w = x.map((_, i) => 1 / (i + 1));
      let num = 0;
      let dx = 0;
      let dz = 0;
      for (let i = 0; i < x.length; i++)
        for (let j = i + 1; j < x.length; j++) {
          const wij = additive ? w[i] + w[j] : w[i] * w[j];
          num += wij * Math.sign(x[i] - x[j]) * Math.sign(z[i] - z[j]);
          if (x[i] !== x[j]) dx += wij;
          if (z[i] !== z[j]) dz += wij;
        }
      close(weightedTau(x, z, { rank: false, additive }), num / Math.sqrt(dx * dz));
    }
  });
});

describe('pearson / spearman / kendall edge cases', () => {
  it('a constant vector with inexact mean is still constant (NaN, not rounding noise)', () => {
    expect(pearson([0.1, 0.1, 0.1], [1, 2, 3])).toBeNaN();
  });

  it('NaN in the input propagates (scipy nan_policy="propagate")', () => {
    expect(pearson([1, Number.NaN, 3], [1, 2, 3])).toBeNaN();
    expect(spearman([1, 2, 3], [1, Number.NaN, 3])).toBeNaN();
    expect(kendallTauB([1, 2, 3], [1, Number.NaN, 3])).toBeNaN();
  });

  it('fewer than two values is undefined; mismatched lengths throw', () => {
    expect(pearson([1], [2])).toBeNaN();
    expect(kendallTauB([], [])).toBeNaN();
    expect(weightedTau([1], [1])).toBeNaN();
    expect(() => spearman([1, 2, 3], [1, 2])).toThrow(/x has 3 values but y has 2/);
  });

  it('Pearson is invariant to positive affine maps and flips sign under negation', () => {
    const x = [0.3, -1.2, 2.2, 0.7, 5.1, -0.4];
    const y = [1.0, 0.2, 3.3, 0.1, 4.2, 0.9];
    const r = pearson(x, y);
    close(
      pearson(
        x.map((v) => 3 * v - 7),
        y,
      ),
      r,
    );
    close(
      pearson(
        x.map((v) => -v),
        y,
      ),
      -r,
    );
  });

  it('perfectly monotone data gives exactly ±1 for the rank coefficients', () => {
    const x = [1, 2, 3, 4, 5];
    const y = [1, 4, 9, 16, 25];
    expect(spearman(x, y)).toBe(1);
    expect(kendallTauB(x, y)).toBe(1);
    expect(
      kendallTauB(
        x,
        y.map((v) => -v),
      ),
    ).toBe(-1);
    expect(weightedTau(x, y)).toBe(1);
  });
});

describe('cosineSimilarity', () => {
  it('matches numpy (dot / norms)', () => {
    close(cosineSimilarity([1, 2, 3], [4, -5, 6]), 0.3654869423239036);
  });

  it('is undefined for a zero vector and does not centre', () => {
    expect(cosineSimilarity([0, 0, 0], [1, 2, 3])).toBeNaN();
    // [1,1] and [2,2] point the same way although Pearson of constants is undefined
    expect(cosineSimilarity([1, 1], [2, 2])).toBeCloseTo(1, 15);
  });
});
