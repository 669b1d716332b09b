/**
 * End-to-end (issue 17, item 5): what `taskmap serve` offers and shows before anything is pressed, on a data root
 * like ../shared/data — folders of stored matrices beside real features — and with the demo's similarity matrices:
 * matrices folders are not feature sets, an unreadable feature set is not preselected (and a chosen one's error
 * wraps inside the sidebar), the demo's first matrix is drawn on landing, the 47-model heatmap thins its axis
 * labels, zooms and highlights a searched model, the MDS map's labels do not overlap, and a running job has a Cancel button that cancels it.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLabelledMatrix } from '../../src/io/labelledMatrix.js';
import { writeNpy } from '../../src/io/npy.js';
import { fromRows } from '../../src/linalg/dense.js';
import { haveSharedData, sharedDataDir } from '../helpers/sharedData.js';
import { writeZooFixture } from '../server/fixtures.js';
import { call, startServer, type Running } from '../server/helpers.js';
import { openUiSession, SKIP_MESSAGE, skipBrowser, type UiSession } from './browser.js';
import { labelDensity } from '../../web/src/charts.js';

const N = 47;
/** Polls that wait for a background job or a redraw: longer than expect.poll's default second on a loaded machine. */
const SLOW = { timeout: 30_000 };
const ZOO = Array.from({ length: N }, (_, i) => `zoo-model-${String(i).padStart(2, '0')}`);

/** A pickled object array, as np.save writes a dict (the DDS paper's rdms.npy): the header says '|O', shape (). */
function objectNpy(): Buffer {
  let header = "{'descr': '|O', 'fortran_order': False, 'shape': (), }";
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from([0x80, 0x04, 0x95, 0x00, 0x2e])]);
}

async function writeFixtures(root: string): Promise<void> {
  // Stored results: a pickled-dict .npy with its JSON twin, and a square matrix saved as .npy and as JSON.
  const results = join(root, 'ddsresults', 'normcomparison');
  await mkdir(results, { recursive: true });
  await writeFile(join(results, 'rdms.npy'), objectNpy());
  await writeFile(
    join(results, 'rdms.json'),
    JSON.stringify({
      pearson: {
        cka: [
          [1, 0.5],
          [0.5, 1],
        ],
      },
    }),
  );
  const square = Float64Array.from({ length: 25 }, (_, k) => (k % 6 === 0 ? 1 : 0.3));
  await writeFile(join(results, 'kernels.npy'), writeNpy({ dtype: 'float64', shape: [5, 5], data: square }));
  await writeFile(
    join(results, 'kernels.json'),
    JSON.stringify({
      rbf: [
        [1, 0.3],
        [0.3, 1],
      ],
    }),
  );
  // A feature set that is listed (float, 2-d) but cannot be loaded (2 images): sorts first, must not be preselected.
  await mkdir(join(root, 'aaa-too-few-images'), { recursive: true });
  await writeFile(join(root, 'aaa-too-few-images', 'm.npy'), writeNpy({ dtype: 'float32', shape: [2, 3], data: new Float32Array(6) }));
  // Real features, large enough that a bootstrap ranking runs for a while (the Cancel button's job).
  await writeZooFixture(join(root, 'zoo', 'features'), { images: 2500, features: 48 });
  // The demo's stored similarity of a 47-model zoo.
  const rows = ZOO.map((_, i) => ZOO.map((_, j) => (i === j ? 1 : Math.exp(-Math.abs(i - j) / 6) * (0.9 + 0.1 * Math.cos(i * j)))));
  await writeLabelledMatrix(join(root, 'taskmap-demo', 'similarity-rsa.json'), { rows: ZOO, cols: ZOO, matrix: fromRows(rows), measure: 'rsa' });
}

describe('catalogue: folders of matrices are not feature sets', () => {
  let tmp: string;
  let run: Running;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'taskmap-catalog-'));
    await writeFixtures(join(tmp, 'data'));
    run = await startServer({ dataRoots: [join(tmp, 'data'), ...(haveSharedData ? [sharedDataDir] : [])], uploadDir: join(tmp, 'uploads') });
  }, 60_000);
  afterAll(async () => {
    await run?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('lists the features and the square/pickled .npy results not as feature sets', async () => {
    const r = await call(run.base, 'GET', '/api/datasets');
    const sets: string[] = r.body.featureSets.map((s: { path: string }) => s.path);
    expect(sets).toContain('data/zoo/features');
    expect(sets).toContain('data/aaa-too-few-images');
    expect(sets.filter((p) => p.includes('ddsresults') || p.includes('duality-diagram-similarity'))).toEqual([]);
  });
});

describe('heatmap label density', () => {
  it('shows every k-th label so that labels stay ≥ 10 px apart, in an 8–11 px font', () => {
    expect(labelDensity(47, 7)).toEqual({ every: 2, fontSize: 11 });
    expect(labelDensity(10, 24)).toEqual({ every: 1, fontSize: 11 });
    expect(labelDensity(200, 6).every).toBe(2);
    expect(labelDensity(47, 14)).toEqual({ every: 1, fontSize: 11 });
    for (const cell of [3, 4, 5, 6, 7, 9, 12]) expect(cell * labelDensity(100, cell).every).toBeGreaterThanOrEqual(10);
  });
});

if (skipBrowser) console.warn(SKIP_MESSAGE);

describe.skipIf(skipBrowser)('landing page in headless Chromium', () => {
  let session: UiSession;
  let run: Running;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    session = await openUiSession({
      prefix: 'taskmap-landing-',
      setup: (d) => writeFixtures(join(d, 'data')),
      roots: (d) => [join(d, 'data')],
      // The unreadable feature set answers 422 (skipped on landing, shown when chosen); the cancelled job's 409.
      expectedConsole: /status of (422|409)/,
    });
    ({ run, page, pageErrors } = session);
  }, 120_000);

  afterAll(async () => {
    await session?.close();
  });

  it('opens on the demo matrix and a readable feature set, without pressing anything', async () => {
    await page.goto(`${run.base}/`);
    // The unreadable set sorts first but is skipped; the matrices folder is not offered at all.
    await expect.poll(() => page.locator('[data-control="featureSet"]').inputValue(), SLOW).toBe('data/zoo/features');
    await expect.poll(() => page.locator('[data-featureset-info]').count(), SLOW).toBe(1);
    expect(await page.locator('[data-featureset-error]').count()).toBe(0);
    const options = await page.locator('[data-control="featureSet"] option').evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
    expect(options.some((o) => o.includes('ddsresults'))).toBe(false);

    // The demo's stored matrix is drawn at once: 47 × 47 cells, labelled as the demo's result.
    await expect.poll(() => page.locator('[data-landing]').getAttribute('data-landing'), SLOW).toBe('data/taskmap-demo/similarity-rsa.json');
    const cells = page.locator('[data-figure="heatmap-a"] g.mark-rect.role-mark path');
    await expect.poll(() => cells.count(), SLOW).toBe(N * N);
    expect(await page.locator('[data-figure="mds-a"] g.mark-symbol.role-mark path').count()).toBe(N);
    // MDS point labels: drawn only where they overlap no other label (the rest show on hover).
    const texts = page.locator('[data-figure="mds-a"] g.mark-text.role-mark text');
    await expect.poll(() => texts.count(), SLOW).toBeGreaterThan(5);
    const overlaps = await texts.evaluateAll((els) => {
      const rs = els.map((e) => e.getBoundingClientRect());
      let count = 0;
      for (let a = 0; a < rs.length; a++)
        for (let b = a + 1; b < rs.length; b++) {
          const [p, q] = [rs[a], rs[b]];
          if (p.right - 1 > q.left && q.right - 1 > p.left && p.bottom - 1 > q.top && q.bottom - 1 > p.top) count++;
        }
      return count;
    });
    expect(overlaps).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('47-model heatmap: thinned axis labels, zoom shows them all, search highlights a model', async () => {
    const labels = page.locator('[data-figure="heatmap-a"] .role-axis-label text');
    const fit = await labels.count();
    expect(fit).toBeGreaterThan(N / 2); // every 2nd label on each axis
    expect(fit).toBeLessThan(2 * N);
    await page.selectOption('[data-control="heatmap-zoom-a"]', '2');
    await expect.poll(() => labels.count(), SLOW).toBe(2 * N);
    await page.selectOption('[data-control="heatmap-zoom-a"]', '1');
    await expect.poll(() => labels.count(), SLOW).toBe(fit);

    // A thinned-out label, found by part of its name: its row and column are outlined, its labels shown in bold.
    const hidden = (await labels.allTextContents()).includes('zoo-model-01') ? 'zoo-model-02' : 'zoo-model-01';
    await page.fill('[data-control="heatmap-search-a"]', hidden.slice(4));
    await expect.poll(() => page.locator('[data-highlight]').getAttribute('data-highlight'), SLOW).toBe(hidden);
    const outlined = page.locator('[data-figure="heatmap-a"] g.mark-rect.role-mark path[stroke="#c2410c"]');
    await expect.poll(() => outlined.count(), SLOW).toBe(2 * N - 1);
    await expect.poll(() => labels.filter({ hasText: new RegExp(`^${hidden}$`) }).count()).toBe(2);
    expect(
      await labels
        .filter({ hasText: new RegExp(`^${hidden}$`) })
        .first()
        .getAttribute('font-weight'),
    ).toBe('bold');
    await page.fill('[data-control="heatmap-search-a"]', 'no such model');
    await expect.poll(() => page.locator('[data-highlight]').textContent()).toBe('no model matches');
    await expect.poll(() => outlined.count(), SLOW).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('a chosen unreadable feature set shows its error inside the sidebar', async () => {
    await page.selectOption('[data-control="featureSet"]', 'data/aaa-too-few-images');
    const error = page.locator('[data-featureset-error]');
    await expect.poll(() => error.count(), SLOW).toBe(1);
    const [box, aside] = [await error.boundingBox(), await page.locator('aside.controls').boundingBox()];
    expect(box!.x + box!.width).toBeLessThanOrEqual(aside!.x + aside!.width + 0.5);
    expect(await page.locator('aside.controls').evaluate((e) => e.scrollWidth <= e.clientWidth)).toBe(true);
    await page.selectOption('[data-control="featureSet"]', 'data/zoo/features');
    await expect.poll(() => error.count(), SLOW).toBe(0);
  }, 30_000);

  it('the Cancel button cancels a running job', async () => {
    await page.fill('[data-control="bootstrap"]', '2000');
    await page.click('[data-action="rank"]');
    const cancel = page.locator('.ranking-controls [data-action="cancel-job"]');
    await cancel.waitFor({ state: 'visible' });
    const id = await cancel.getAttribute('data-job');
    await cancel.click();
    await expect.poll(() => page.locator('.ranking-controls [data-error]').textContent(), SLOW).toMatch(/cancelled/);
    const job = await call(run.base, 'GET', `/api/jobs/${id}`);
    expect(job.body.job).toMatchObject({ status: 'failed', error: { code: 'cancelled' } });
    expect(await page.locator('[data-action="cancel-job"]').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
