/** Photographs for the task bank's end-to-end tests. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { mulberry32 } from '../../src/linalg/resample.js';

/** `count` 120×120 PNGs that differ from each other (no near-duplicates): smooth colour fields with seeded stripes. */
export async function stripedPhotos(dir: string, count: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let k = 0; k < count; k++) {
    const w = 120;
    const rand = mulberry32(100 + k);
    const px = Buffer.alloc(w * w * 3);
    const f = 0.05 + 0.3 * rand();
    const c = [rand(), rand(), rand()];
    for (let y = 0; y < w; y++)
      for (let x = 0; x < w; x++)
        for (let ch = 0; ch < 3; ch++)
          px[(y * w + x) * 3 + ch] = Math.round(255 * Math.min(1, Math.max(0, c[ch] * (0.5 + 0.5 * Math.sin(f * (k % 2 ? x : y) + ch)) + 0.2 * rand())));
    await sharp(px, { raw: { width: w, height: w, channels: 3 } })
      .png()
      .toFile(join(dir, `photo-${k}.png`));
  }
}
