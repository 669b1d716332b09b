import { describe, expect, it } from 'vitest';
import { parseReduction, Reducer, reducedShape, SparseProjection } from '../../src/models/reduce.js';
import { resolveTaps } from '../../src/models/taps.js';
import { gaussian } from '../helpers/random.js';

const seq = (n: number) => Float32Array.from({ length: n }, (_, i) => i);

describe('reductions', () => {
  it('parses and refuses', () => {
    expect(parseReduction('pool:3')).toEqual({ kind: 'pool', k: 3 });
    expect(parseReduction('proj:128:7')).toEqual({ kind: 'proj', d: 128, seed: 7 });
    expect(() => parseReduction('avg')).toThrow(/none, gap, pool:K/);
    expect(() => reducedShape([10], 'channels-last', { kind: 'gap' })).toThrow(/spatial axes/);
  });

  it('gap averages the spatial axes per channel, in either layout', () => {
    // One image, H=2, W=2, C=3 channels-last: value = 3·pixel + channel.
    const nhwc = new Reducer({ kind: 'gap' }, 'channels-last').reduce(seq(12), [1, 2, 2, 3]);
    expect(nhwc.shape).toEqual([3]);
    expect(Array.from(nhwc.rows)).toEqual([4.5, 5.5, 6.5]);
    // Channels-first [C=3, H=2, W=2]: channel k holds 4k … 4k+3.
    const nchw = new Reducer({ kind: 'gap' }, 'channels-first').reduce(seq(12), [1, 3, 2, 2]);
    expect(Array.from(nchw.rows)).toEqual([1.5, 5.5, 9.5]);
  });

  it('pool:k uses adaptive bins [⌊iS/k⌋, ⌈(i+1)S/k⌉)', () => {
    // 1×3×1×1 image → pool:2 along H: bins [0,2) and [1,3) → means of 0,1 and 1,2.
    const r = new Reducer({ kind: 'pool', k: 2 }, 'channels-last').reduce(Float32Array.from([0, 1, 2]), [1, 3, 1, 1]);
    expect(r.shape).toEqual([2, 2, 1]);
    expect(Array.from(r.rows)).toEqual([0.5, 0.5, 1.5, 1.5]);
    // 4×4 single channel → 2×2 block means; two images in the batch stay separate.
    const x = Float32Array.from([...seq(16), ...seq(16).map((v) => v * 10)]);
    const p = new Reducer({ kind: 'pool', k: 2 }, 'channels-first').reduce(x, [2, 1, 4, 4]);
    expect(p.shape).toEqual([1, 2, 2]);
    expect(Array.from(p.rows)).toEqual([2.5, 4.5, 10.5, 12.5, 25, 45, 105, 125]);
  });

  it('proj:d is reproducible from its seed and preserves squared norms on average', () => {
    const a = new SparseProjection(400, 64, 3);
    const b = new SparseProjection(400, 64, 3);
    const c = new SparseProjection(400, 64, 4);
    const g = gaussian(9);
    const x = Float32Array.from({ length: 400 }, () => g());
    const ya = new Float32Array(64);
    const yb = new Float32Array(64);
    const yc = new Float32Array(64);
    a.applyInto(x, 0, ya, 0);
    b.applyInto(x, 0, yb, 0);
    c.applyInto(x, 0, yc, 0);
    expect(Array.from(ya)).toEqual(Array.from(yb));
    expect(Array.from(ya)).not.toEqual(Array.from(yc));
    // s = √400 = 20: about p·d/s = 1280 nonzeros.
    expect(a.nonzeros).toBeGreaterThan(1100);
    expect(a.nonzeros).toBeLessThan(1460);
    // E‖xR‖² = ‖x‖²: average the ratio over many seeds.
    let ratio = 0;
    const norm = x.reduce((s, v) => s + v * v, 0);
    for (let seed = 0; seed < 200; seed++) {
      const y = new Float32Array(64);
      new SparseProjection(400, 64, seed).applyInto(x, 0, y, 0);
      ratio += y.reduce((s, v) => s + v * v, 0) / norm / 200;
    }
    expect(ratio).toBeGreaterThan(0.95);
    expect(ratio).toBeLessThan(1.05);
  });

  it('taps resolve by name and glob; unknown names suggest close ones', () => {
    const layers = ['block1/conv/Relu', 'block2/conv/Relu', 'block2/pool', 'head/dense'].map((name) => ({ name, op: 'x' }));
    const none = { kind: 'none' as const };
    expect(resolveTaps([{ pattern: 'block*/conv/Relu' }], layers, none, 'm').map((t) => t.layer)).toEqual(['block1/conv/Relu', 'block2/conv/Relu']);
    expect(resolveTaps([{ pattern: 'head/dense', reduction: { kind: 'gap' } }], layers, none, 'm')[0].reduction).toEqual({ kind: 'gap' });
    expect(() => resolveTaps([{ pattern: 'block2/conv/Rel' }], layers, none, 'm')).toThrow(
      /unknown layer "block2\/conv\/Rel"; did you mean "block2\/conv\/Relu"/,
    );
    expect(() => resolveTaps([{ pattern: 'nothing*' }], layers, none, 'm')).toThrow(/matches no layer/);
  });
});
