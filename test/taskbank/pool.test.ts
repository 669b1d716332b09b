/** The image pool on folders of synthetic photographs (no apt): near-duplicates, splits by photograph, seeded crops, cache. */
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/linalg/resample.js';
import {
  ensureCropPool,
  gatherPhotos,
  POOL_SPLITS,
  sampleCropBoxes,
  splitPhotos,
  WALLPAPER_SOURCES,
  wallpaperName,
  wallpaperSources,
} from '../../src/taskbank/pool.js';

let root: string;
let photos: string;

/** A blocky random colour picture (8 px blocks), seeded. */
function picture(width: number, height: number, seed: number): Buffer {
  const random = mulberry32(seed);
  const blocks = Array.from({ length: Math.ceil(width / 8) * Math.ceil(height / 8) * 3 }, () => Math.floor(random() * 256));
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let k = 0; k < 3; k++) px[3 * (y * width + x) + k] = blocks[3 * (Math.floor(y / 8) * Math.ceil(width / 8) + Math.floor(x / 8)) + k];
  return px;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'taskmap-pool-'));
  photos = join(root, 'photos');
  await mkdir(photos);
  for (let i = 0; i < 8; i++)
    await sharp(picture(96, 72, i + 1), { raw: { width: 96, height: 72, channels: 3 } })
      .png()
      .toFile(join(photos, `p${i}.png`));
  // A re-encoded, slightly smaller copy of p0 (a near-duplicate) and a photograph too small for 16-px crops.
  await sharp(join(photos, 'p0.png')).resize(86, 65, { fit: 'fill' }).jpeg({ quality: 70 }).toFile(join(photos, 'q0.jpg'));
  await sharp({ create: { width: 12, height: 12, channels: 3, background: '#336699' } })
    .png()
    .toFile(join(photos, 'tiny.png'));
  // A flat grey photograph: every crop of it is that grey.
  await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .png()
    .toFile(join(photos, 'grey.png'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const OPTS = () => ({ folders: [photos], cacheDir: join(root, 'cache'), resolution: 16, counts: { train: 20, transfer: 6, test: 6, probe: 5 }, seed: 3 });

describe('photographs', () => {
  it('stores each photograph once, drops the near-duplicate with its reason, and reuses the folder', async () => {
    const a = await gatherPhotos({ folders: [photos], cacheDir: join(root, 'cache') });
    expect(a.built).toBe(true);
    expect(a.set.photos.map((p) => p.id)).toEqual([
      'photos-grey.jpg',
      'photos-p0.jpg',
      ...[1, 2, 3, 4, 5, 6, 7].map((i) => `photos-p${i}.jpg`),
      'photos-tiny.jpg',
    ]);
    expect(a.set.excluded).toEqual([
      { id: 'photos-q0.jpg', reason: expect.stringMatching(/^near-duplicate of photos-p0\.jpg \(perceptual hashes \d bits apart\)$/) },
    ]);
    expect(a.set.photos.find((p) => p.id === 'photos-p3.jpg')).toMatchObject({ width: 96, height: 72, source: 'folder' });
    const b = await gatherPhotos({ folders: [photos], cacheDir: join(root, 'cache') });
    expect(b.built).toBe(false);
    expect(b.set).toEqual(a.set);
  });

  it('lists only photographs of the wallpaper package, with their licence file kept', () => {
    expect(WALLPAPER_SOURCES.map((w) => w.package)).toEqual(['lomiri-wallpapers-16.04']);
    expect(WALLPAPER_SOURCES[0].files.length).toBe(14);
    expect(WALLPAPER_SOURCES[0].files).not.toContain('umang_by_Abhishek_Mudgal.jpg');
  });

  it('the large preset adds the Plasma photographs, one file each, named by their folder', () => {
    expect(wallpaperSources('default')).toEqual(WALLPAPER_SOURCES);
    expect(wallpaperSources('small')).toEqual(WALLPAPER_SOURCES);
    const large = wallpaperSources('large');
    expect(large.map((w) => w.package)).toEqual(['lomiri-wallpapers-16.04', 'plasma-workspace-wallpapers']);
    const names = large[1].files.map(wallpaperName);
    expect(names.length).toBe(10);
    expect(new Set(names).size).toBe(10);
    expect(names).toContain('BytheWater');
    expect(names).not.toContain('Kite'); // a photograph with a drawn kite
    expect(wallpaperName('Path/contents/images/2560x1600.jpg')).toBe('Path');
    expect(wallpaperName('Bridge_by_Sander_Klootwijk.jpg')).toBe('Bridge_by_Sander_Klootwijk');
  });
});

describe('splits by photograph', () => {
  it('deals round(f·n) photographs per part (at least one each) from a seeded permutation', () => {
    const ids = Array.from({ length: 14 }, (_, i) => `p${i}`);
    const count = (m: Map<string, string>) => Object.fromEntries(POOL_SPLITS.map((p) => [p, [...m.values()].filter((v) => v === p).length]));
    expect(count(splitPhotos(ids, 0))).toEqual({ train: 9, transfer: 2, test: 2, probe: 1 });
    expect(count(splitPhotos(ids.slice(0, 4), 0))).toEqual({ train: 1, transfer: 1, test: 1, probe: 1 });
    expect(count(splitPhotos(ids.slice(0, 5), 0, { train: 0.1, transfer: 0.1, test: 0.1, probe: 0.7 }))).toEqual({ train: 1, transfer: 1, test: 1, probe: 2 });
    expect(splitPhotos(ids, 5)).toEqual(splitPhotos(ids, 5));
    expect([...splitPhotos(ids, 5)]).not.toEqual([...splitPhotos(ids, 6)]);
    expect(() => splitPhotos(ids.slice(0, 3), 0)).toThrow(/3 photographs cannot be split into 4 parts/);
    expect(() => splitPhotos(ids, 0, { train: 1, transfer: 0, test: 1, probe: 1 })).toThrow(/split fractions must be positive/);
  });

  it('crop boxes lie inside the photograph, with sides between the scale bounds and never below the resolution', () => {
    const random = mulberry32(9);
    const boxes = sampleCropBoxes(2, 200, 100, 200, random, [0.25, 0.6], 32);
    for (const b of boxes) {
      expect(b.photo).toBe(2);
      expect(b.side).toBeGreaterThanOrEqual(32);
      expect(b.side).toBeLessThanOrEqual(60);
      expect(b.x + b.side).toBeLessThanOrEqual(200);
      expect(b.y + b.side).toBeLessThanOrEqual(100);
    }
    expect(new Set(boxes.map((b) => b.side)).size).toBeGreaterThan(10);
    expect(() => sampleCropBoxes(0, 20, 30, 1, random, [0.25, 0.6], 32)).toThrow(/20×30: too small for 32-pixel crops/);
  });
});

describe('crop pool', () => {
  it('cuts the asked number of crops per part, no photograph in two parts, and the same crops for the same seed', async () => {
    const pool = await ensureCropPool(OPTS());
    expect(pool.built).toBe(true);
    const m = pool.manifest;
    expect(m.skipped).toEqual(['photos-tiny.jpg']);
    for (const part of POOL_SPLITS) {
      expect(m.crops[part].length).toBe(OPTS().counts[part]);
      expect(pool.crops[part].length).toBe(m.crops[part].length * 16 * 16 * 3);
      // Every crop comes from a photograph of its own part; every photograph of the part lends crops.
      const owners = new Set(m.crops[part].map((b) => b.photo));
      for (const i of owners) expect(m.photos[i].split).toBe(part);
      expect(owners).toEqual(new Set(m.photos.flatMap((p, i) => (p.split === part ? [i] : []))));
    }
    // Flat grey in, flat grey out (area averaging keeps a constant).
    const g = m.photos.findIndex((p) => p.id === 'photos-grey.jpg');
    const part = m.photos[g].split;
    const row = m.crops[part].findIndex((b) => b.photo === g);
    const px = pool.crops[part].subarray(row * 768, (row + 1) * 768);
    expect(Math.max(...px) - Math.min(...px)).toBeLessThanOrEqual(1);
    expect(Math.abs(px[0] - 90)).toBeLessThanOrEqual(2);

    const again = await ensureCropPool(OPTS());
    expect(again.built).toBe(false);
    expect(again.crops).toEqual(pool.crops);
    expect(await readFile(join(pool.dir, 'train.npy'))).toEqual(await readFile(join(again.dir, 'train.npy')));
    // Rebuilt from scratch elsewhere, the same seed gives byte-identical crops; another seed other crops.
    const fresh = await ensureCropPool({ ...OPTS(), cacheDir: join(root, 'cache2') });
    expect(fresh.built).toBe(true);
    expect(fresh.crops).toEqual(pool.crops);
    const other = await ensureCropPool({ ...OPTS(), seed: 4 });
    expect(other.dir).not.toBe(pool.dir);
    expect(other.crops.train).not.toEqual(pool.crops.train);
  });

  it('refuses bad options with the reason', async () => {
    await expect(ensureCropPool({ ...OPTS(), resolution: 7 })).rejects.toThrow(/integer from 8 to 512 pixels, got 7/);
    await expect(ensureCropPool({ ...OPTS(), counts: { train: 0 } })).rejects.toThrow(/the train part needs a positive integer number of crops, got 0/);
    await expect(ensureCropPool({ ...OPTS(), scale: [0.7, 0.5] })).rejects.toThrow(/0 < min ≤ max ≤ 1/);
    await expect(gatherPhotos({ preset: 'huge' as 'small' })).rejects.toThrow(/unknown image pool preset "huge"/);
  });
});
