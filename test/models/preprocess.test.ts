import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAY_WEIGHTS, preprocessImage, validatePreprocessing } from '../../src/images/preprocess.js';
import type { Preprocessing } from '../../src/models/types.js';

// A 4×2 RGB image with distinct values everywhere: pixel (x, y) channel c = 10·(4y + x) + c + 1.
const W = 4;
const H = 2;
const px = (x: number, y: number, c: number) => 10 * (4 * y + x) + c + 1;
let dir: string;
let png: Uint8Array;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taskmap-pre-'));
  const raw = Uint8Array.from({ length: W * H * 3 }, (_, i) => px(Math.floor(i / 3) % W, Math.floor(i / 3 / W), i % 3));
  await sharp(raw, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toFile(join(dir, 'tiny.png'));
  png = await readFile(join(dir, 'tiny.png'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base: Preprocessing = { width: W, height: H, resize: 'stretch', channels: 'rgb', range: [0, 255], layout: 'NHWC', dtype: 'float32' };

describe('preprocessing (sharp decode → model input)', () => {
  it('stretch at native size keeps every pixel; NHWC is y, x, channel', async () => {
    const x = await preprocessImage(png, base);
    expect(x.length).toBe(W * H * 3);
    for (let y = 0; y < H; y++) for (let i = 0; i < W; i++) for (let c = 0; c < 3; c++) expect(x[(y * W + i) * 3 + c]).toBe(px(i, y, c));
  });

  it('NCHW is channel, y, x; bgr reverses the channels', async () => {
    const x = await preprocessImage(png, { ...base, layout: 'NCHW', channels: 'bgr' });
    for (let k = 0; k < 3; k++) for (let y = 0; y < H; y++) for (let i = 0; i < W; i++) expect(x[(k * H + y) * W + i]).toBe(px(i, y, 2 - k));
  });

  it('range, mean and std: (lo + (hi − lo)·v/255 − mean[c]) / std[c]', async () => {
    const p: Preprocessing = { ...base, range: [-1, 1], mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 2] };
    validatePreprocessing(p, 'test');
    const x = await preprocessImage(png, p);
    for (let c = 0; c < 3; c++) expect(x[c]).toBeCloseTo((-1 + (2 * px(0, 0, c)) / 255 - p.mean![c]) / p.std![c], 6);
    const unit = await preprocessImage(png, { ...base, range: [0, 1] });
    expect(unit[5]).toBeCloseTo(px(1, 0, 2) / 255, 7);
  });

  it('gray is 0.2989 R + 0.5870 G + 0.1140 B as one channel; int32 rounds', async () => {
    const g = await preprocessImage(png, { ...base, channels: 'gray' });
    expect(g.length).toBe(W * H);
    const lum = (i: number, y: number) => GRAY_WEIGHTS[0] * px(i, y, 0) + GRAY_WEIGHTS[1] * px(i, y, 1) + GRAY_WEIGHTS[2] * px(i, y, 2);
    expect(g[5]).toBeCloseTo(lum(1, 1), 4);
    const q = await preprocessImage(png, { ...base, channels: 'gray', dtype: 'int32' });
    expect(q).toBeInstanceOf(Int32Array);
    expect(q[5]).toBe(Math.round(lum(1, 1)));
  });

  it('crop takes the centre of the shorter-side fit; pad letterboxes with black', async () => {
    // 4×2 → 2×2 with cover: scale 1, the centre columns 1 and 2 survive.
    const crop = await preprocessImage(png, { ...base, width: 2, height: 2, resize: 'crop' });
    for (let y = 0; y < 2; y++) for (let i = 0; i < 2; i++) for (let c = 0; c < 3; c++) expect(crop[(y * 2 + i) * 3 + c]).toBe(px(i + 1, y, c));
    // 4×2 → 4×4 with contain: rows 1–2 are the image, rows 0 and 3 black.
    const pad = await preprocessImage(png, { ...base, width: 4, height: 4, resize: 'pad' });
    for (let i = 0; i < 4; i++) {
      for (let c = 0; c < 3; c++) {
        expect(pad[(0 * 4 + i) * 3 + c]).toBe(0);
        expect(pad[(1 * 4 + i) * 3 + c]).toBe(px(i, 0, c));
        expect(pad[(2 * 4 + i) * 3 + c]).toBe(px(i, 1, c));
        expect(pad[(3 * 4 + i) * 3 + c]).toBe(0);
      }
    }
  });

  it('rejects inconsistent specs and undecodable bytes', async () => {
    expect(() => validatePreprocessing({ ...base, mean: [1, 2] }, 'm')).toThrow(/mean has 2 values; it needs 1 or 3/);
    expect(() => validatePreprocessing({ ...base, range: [1, 1] }, 'm')).toThrow(/range/);
    await expect(preprocessImage(Buffer.from('not an image'), base)).rejects.toThrow();
    // A JPEG cut in half must fail rather than decode with a grey tail.
    const jpeg = await sharp(Buffer.alloc(64 * 64 * 3, 90), { raw: { width: 64, height: 64, channels: 3 } })
      .jpeg()
      .toBuffer();
    await expect(preprocessImage(jpeg.subarray(0, jpeg.length >> 1), base)).rejects.toThrow();
  });
});
