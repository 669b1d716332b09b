import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validatePreprocessing } from '../../src/images/preprocess.js';
import { expectedProbeCount, PROBE_SOURCES, readProbeSet } from '../../src/images/probe.js';
import { listLayers } from '../../src/models/load.js';
import { FAMILY_DESCRIPTIONS, ZOO, zooModelPath } from '../../src/models/zoo.js';

describe('zoo registry', () => {
  it('has unique ids, described families, valid preprocessing and installed files', () => {
    expect(new Set(ZOO.map((m) => m.id)).size).toBe(ZOO.length);
    for (const m of ZOO) {
      expect(FAMILY_DESCRIPTIONS[m.family], m.id).toBeTruthy();
      expect(() => validatePreprocessing(m.preprocessing, m.id)).not.toThrow();
      expect(zooModelPath(m).path).toContain(m.file);
    }
    // Every family needs at least two members for family recovery to be measurable.
    const counts = new Map<string, number>();
    for (const m of ZOO) counts.set(m.family, (counts.get(m.family) ?? 0) + 1);
    for (const [f, n] of counts) expect(n, f).toBeGreaterThanOrEqual(2);
  });

  it('every default tap is a layer of its model (read from the model files, no weights loaded)', async () => {
    for (const m of ZOO) {
      const layers = await listLayers({ path: zooModelPath(m).path, format: m.format });
      expect(
        layers.some((l) => l.name === m.tap),
        `${m.id}: ${m.tap}`,
      ).toBe(true);
    }
  });
});

describe('probe set definition', () => {
  it('lists more than 100 photographs from apt packages, and an incomplete folder is not a probe set', async () => {
    expect(expectedProbeCount()).toBeGreaterThanOrEqual(100);
    const names = PROBE_SOURCES.flatMap((s) => s.files.map((f) => `${s.prefix}-${f.replace(/\.\w+$/, '')}`));
    expect(new Set(names).size).toBe(names.length);
    const dir = await mkdtemp(join(tmpdir(), 'taskmap-probe-'));
    try {
      expect(await readProbeSet(dir)).toBeUndefined();
      await writeFile(
        join(dir, 'SOURCES.json'),
        JSON.stringify({ created: '', maxSide: 640, packages: [], images: [{ file: 'missing.jpg', package: 'x', original: '/x', sha256Original: '' }] }),
      );
      expect(await readProbeSet(dir)).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
