/** The curated probe set of the demo: calibration frames, second stereo views and near-duplicates left out. */
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  curateProbeSet,
  ensureCuratedProbeImages,
  PROBE_EXCLUDED,
  PROBE_SOURCES,
  probeFileName,
  readProbeSet,
  SOURCES_FILE,
  type ProbeManifest,
} from '../../src/images/probe.js';
import { mulberry32 } from '../../src/linalg/resample.js';
import { runCli } from '../helpers/cli.js';

let root: string;
let full: string;

/** A 48×40 JPEG of random 8-px blocks, seeded. */
async function photo(path: string, seed: number, resize?: [number, number]): Promise<void> {
  const random = mulberry32(seed);
  const blocks = Array.from({ length: 6 * 5 * 3 }, () => Math.floor(random() * 256));
  const px = Buffer.alloc(48 * 40 * 3);
  for (let y = 0; y < 40; y++) for (let x = 0; x < 48; x++) for (let k = 0; k < 3; k++) px[3 * (y * 48 + x) + k] = blocks[3 * ((y >> 3) * 6 + (x >> 3)) + k];
  let img = sharp(px, { raw: { width: 48, height: 40, channels: 3 } });
  if (resize) img = img.resize(resize[0], resize[1], { fit: 'fill' });
  await img.jpeg({ quality: 85 }).toFile(path);
}

const FILES = ['opencv-left01.jpg', 'opencv-a.jpg', 'opencv-b.jpg', 'opencv-c.jpg', 'opencv-right.jpg', 'skimage-d.jpg'];

async function writeFull(created: string): Promise<ProbeManifest> {
  const manifest: ProbeManifest = {
    created,
    maxSide: 640,
    packages: [{ name: 'opencv-doc', version: '1', copyright: 'licenses/opencv-doc.copyright' }],
    images: FILES.map((file) => ({ file, package: 'opencv-doc', original: `/x/${file}`, sha256Original: '' })),
  };
  await writeFile(join(full, SOURCES_FILE), JSON.stringify(manifest));
  return manifest;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'taskmap-curated-'));
  full = join(root, 'probe');
  await mkdir(join(full, 'licenses'), { recursive: true });
  await writeFile(join(full, 'licenses', 'opencv-doc.copyright'), 'BSD');
  await photo(join(full, 'opencv-left01.jpg'), 1);
  await photo(join(full, 'opencv-a.jpg'), 2);
  await photo(join(full, 'opencv-b.jpg'), 2, [44, 36]); // a resized re-encoding of a
  await photo(join(full, 'opencv-c.jpg'), 3);
  await photo(join(full, 'opencv-right.jpg'), 4);
  await photo(join(full, 'skimage-d.jpg'), 5);
  await writeFull('2026-01-01T00:00:00Z');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('curated probe set', () => {
  it('names the 26 chessboard frames and the 3 second stereo views, all of them probe files', () => {
    const all = new Set(PROBE_SOURCES.flatMap((s) => s.files.map((f) => probeFileName(s, f))));
    const names = Object.keys(PROBE_EXCLUDED);
    expect(names.length).toBe(29);
    for (const n of names) expect(all.has(n), n).toBe(true);
    expect(names.filter((n) => /chessboard/.test(PROBE_EXCLUDED[n])).length).toBe(26);
    expect(PROBE_EXCLUDED['opencv-aloeR.jpg']).toMatch(/second view of a stereo pair \(opencv-aloeL\.jpg\)/);
    expect(all.has('opencv-aloeL.jpg') && !('opencv-aloeL.jpg' in PROBE_EXCLUDED)).toBe(true);
  });

  it('keeps all but the listed frames and the later copy of each near-duplicate group, with reasons', async () => {
    const m = (await readProbeSet(full))!;
    const { kept, excluded } = await curateProbeSet(full, m);
    expect(kept.map((i) => i.file)).toEqual(['opencv-a.jpg', 'opencv-c.jpg', 'skimage-d.jpg']);
    expect(excluded.map((e) => e.file)).toEqual(['opencv-left01.jpg', 'opencv-right.jpg', 'opencv-b.jpg']);
    expect(excluded[0].reason).toMatch(/chessboard/);
    expect(excluded[2].reason).toMatch(/^near-duplicate of opencv-a\.jpg \(perceptual hashes \d+ bits apart\)$/);
  });

  it('links the kept photographs into their own folder with the licences; reused until the full set is rebuilt', async () => {
    const curatedDir = join(root, 'probe-curated');
    const a = await ensureCuratedProbeImages({ dir: full, curatedDir });
    expect(a.full).toEqual({ dir: full, count: 6 });
    expect((await readdir(curatedDir)).sort()).toEqual(['SOURCES.json', 'licenses', 'opencv-a.jpg', 'opencv-c.jpg', 'skimage-d.jpg']);
    expect(await readFile(join(curatedDir, 'opencv-a.jpg'))).toEqual(await readFile(join(full, 'opencv-a.jpg')));
    expect(a.manifest.curated).toMatchObject({ from: full, fromCreated: '2026-01-01T00:00:00Z', total: 6, nearDuplicateBits: 10 });
    expect((await readProbeSet(curatedDir))!.images.length).toBe(3);
    // Reused: a marker file survives the second call.
    await writeFile(join(curatedDir, 'marker.txt'), 'x');
    await ensureCuratedProbeImages({ dir: full, curatedDir });
    expect((await readdir(curatedDir)).includes('marker.txt')).toBe(true);
    // The full set was rebuilt (new creation time): curated again.
    await writeFull('2026-02-01T00:00:00Z');
    const b = await ensureCuratedProbeImages({ dir: full, curatedDir });
    expect(b.manifest.curated.fromCreated).toBe('2026-02-01T00:00:00Z');
    expect((await readdir(curatedDir)).includes('marker.txt')).toBe(false);
    const info = await runCli('probe', 'info', '--dir', full, '--curated-dir', curatedDir);
    expect(info.out).toContain(
      `curated set (the demo's): 3 of 6 in ${curatedDir}; left out: 1 × stereo-calibration frame, 1 × second view of a stereo pair, 1 × near-duplicate`,
    );
  });
});
