/** The perceptual hash against scipy's DCT (test/reference/taskbank_reference.py), its invariances, and near-duplicate groups. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { hashDistance, imagePerceptualHash, NEAR_DUPLICATE_BITS, nearDuplicateGroups, perceptualHash } from '../../src/images/phash.js';
import { mulberry32 } from '../../src/linalg/resample.js';

const REF = JSON.parse(readFileSync(join(__dirname, '../fixtures/taskbank/reference.json'), 'utf8')) as Record<string, any>;

/** A 64×48 RGB picture of random 8-px blocks, seeded, as PNG bytes. */
async function picture(seed: number): Promise<Buffer> {
  const random = mulberry32(seed);
  const blocks = Array.from({ length: 8 * 6 * 3 }, () => Math.floor(random() * 256));
  const px = Buffer.alloc(64 * 48 * 3);
  for (let y = 0; y < 48; y++) for (let x = 0; x < 64; x++) for (let k = 0; k < 3; k++) px[3 * (y * 64 + x) + k] = blocks[3 * ((y >> 3) * 8 + (x >> 3)) + k];
  return sharp(px, { raw: { width: 64, height: 48, channels: 3 } })
    .png()
    .toBuffer();
}

describe('perceptual hash', () => {
  it('matches the scipy DCT reference; an affine change of the grey values keeps it, inverting them flips it', () => {
    expect(perceptualHash(REF.grey32)).toBe(REF.phash);
    expect(perceptualHash(REF.grey32Affine)).toBe(REF.phash);
    expect(REF.phashAffine).toBe(REF.phash);
    const inverted = perceptualHash((REF.grey32 as number[]).map((v) => 255 - v));
    expect(inverted).toBe(REF.phashInverted);
    // The DC bit is 0 in both; the 63 AC bits all flip unless a coefficient sits at the median.
    expect(hashDistance(inverted, REF.phash)).toBeGreaterThanOrEqual(60);
    expect(() => perceptualHash([1, 2, 3])).toThrow(/needs a 32×32 greyscale image \(1024 values\), got 3 values/);
  });

  it('re-encoding and resizing a picture moves it a few bits; other pictures are far; over 3 seeds', async () => {
    for (const seed of [1, 2, 3]) {
      const png = await picture(seed);
      const copy = await sharp(png).resize(56, 42, { fit: 'fill' }).jpeg({ quality: 60 }).toBuffer();
      const [a, b, c] = await Promise.all([imagePerceptualHash(png), imagePerceptualHash(copy), imagePerceptualHash(await picture(seed + 10))]);
      expect(hashDistance(a, b)).toBeLessThanOrEqual(NEAR_DUPLICATE_BITS);
      expect(hashDistance(a, c)).toBeGreaterThan(NEAR_DUPLICATE_BITS);
    }
  });

  it('hash distance: popcount of the XOR; hashes of different lengths are refused', () => {
    expect(hashDistance('0000000000000000', 'ffffffffffffffff')).toBe(64);
    expect(hashDistance('00000000000000f1', '0000000000000010')).toBe(4);
    expect(() => hashDistance('00', '000')).toThrow(/not hashes of one length/);
    expect(() => hashDistance('zz', '00')).toThrow(/not hashes of one length/);
  });

  it('near-duplicate groups: single linkage, the first of each group in the given order is kept', () => {
    const items = [
      { id: 'a', hash: '0000000000000000' },
      { id: 'd', hash: 'ffffffffffffffff' },
      { id: 'b', hash: '000000000000003f' }, // 6 bits from a
      { id: 'c', hash: '0000000000000fff' }, // 6 bits from b, 12 from a: joined through b
      { id: 'e', hash: 'fffffffffffff000' }, // 12 bits from d: its own group
    ];
    expect(nearDuplicateGroups(items, 10)).toEqual({
      kept: ['a', 'd', 'e'],
      dropped: [
        { id: 'b', of: 'a', bits: 6 },
        { id: 'c', of: 'a', bits: 6 },
      ],
    });
    expect(nearDuplicateGroups(items, 5).kept).toEqual(['a', 'd', 'b', 'c', 'e']);
    expect(nearDuplicateGroups([...items].reverse(), 10).kept).toEqual(['e', 'c', 'd']);
  });
});
