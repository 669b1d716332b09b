/**
 * End-to-end: ranking sources against labels in the built UI (headless Chromium, a real `taskmap serve`). Uploads a
 * labels CSV in the ranking panel, picks one score, then the score table of every score, and checks what is drawn
 * against the library on the same files: the ranking, every cell of the table, sorting by a column, the wall-time
 * footer, and the notes for blank cells.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFeatureSet, saveFeatureSet } from '../../src/features/featureSet.js';
import type { Representation } from '../../src/features/types.js';
import { rankSources, type Target } from '../../src/taxonomy/rank.js';
import { rankTable, standardRankMeasures } from '../../src/taxonomy/rankTable.js';
import { gaussian } from '../helpers/random.js';
import { writeZooFixture } from '../server/fixtures.js';
import { openUiSession, SKIP_MESSAGE, skipBrowser, type UiSession } from './browser.js';

const SLOW = { timeout: 30_000 };

if (skipBrowser) console.warn(SKIP_MESSAGE);

describe.skipIf(skipBrowser)('ranking against labels in the UI', () => {
  let session: UiSession;
  let page: Page;
  let members: Representation[];
  let labels: string[];
  let probs: Representation[];

  beforeAll(async () => {
    session = await openUiSession({
      prefix: 'taskmap-e2e-scores-',
      setup: async (d) => {
        await writeZooFixture(join(d, 'zoo', 'features'));
        members = (await loadFeatureSet(join(d, 'zoo', 'features'))).members;
        // Classes from the sign pattern of seg-a's first two features: four classes that the segmentation models see.
        const seg = members.find((m) => m.label === 'seg-a')!;
        labels = Array.from({ length: seg.n }, (_, i) => `${seg.data[i * seg.p] > 0 ? 'p' : 'n'}${seg.data[i * seg.p + 1] > 0 ? 'p' : 'n'}`);
        await writeFile(join(d, 'labels-to-upload.csv'), `image,label\n${labels.map((l, i) => `img${i}.jpg,${l}`).join('\n')}\n`);
        // Softmax outputs of two models, so that LEEP / NCE have values for them and blanks for the rest.
        probs = ['pose-a', 'seg-a'].map((label, k) => {
          const g = gaussian(90 + k);
          const data = new Float64Array(seg.n * 4);
          for (let i = 0; i < seg.n; i++) {
            const e = Array.from({ length: 4 }, () => Math.exp(g()));
            const s = e.reduce((a, b) => a + b, 0);
            e.forEach((v, z) => (data[i * 4 + z] = v / s));
          }
          return { label, n: seg.n, p: 4, shape: [4], data, source: label };
        });
        await saveFeatureSet(join(d, 'zoo', 'probs'), { n: seg.n, members: probs });
      },
      roots: (d) => [join(d, 'zoo')],
      expectedConsole: /^$/,
    });
    page = session.page;
  }, 60_000);

  afterAll(async () => {
    await session?.close();
  });

  it('labels upload → one score → the score table, sorted by a column, with wall times and notes', async () => {
    const target: Target = { kind: 'labels', labels, labelKind: 'class', label: 'uploads/labels-to-upload.csv' };
    await page.goto(`${session.run.base}/`);
    await expect.poll(() => page.locator('[data-control="featureSet"]').inputValue(), SLOW).toBe('zoo/features');
    await expect.poll(() => page.locator('[data-featureset-info]').textContent(), SLOW).toContain('11 models');

    // Scores are offered, but only against labels.
    const logmeOption = page.locator('[data-control="rank-measure"] option', { hasText: /^logme$/ });
    await expect.poll(() => logmeOption.isDisabled(), SLOW).toBe(true);
    await page.selectOption('[data-control="target"]', { label: 'labels file…' });
    await page.setInputFiles('[data-upload="labels"]', join(session.tmp, 'labels-to-upload.csv'));
    await expect.poll(() => page.locator('[data-control="labels-file"]').inputValue(), SLOW).toBe('uploads/labels-to-upload.csv');
    expect(await logmeOption.isDisabled()).toBe(false);

    // One score: the ranking table is rankSources with that score.
    await page.selectOption('[data-control="rank-measure"]', 'hscore');
    await page.fill('[data-control="bootstrap"]', '0');
    await page.click('[data-action="rank"]');
    const rankRows = page.locator('[data-table="ranking-table-a"] tbody tr');
    await expect.poll(() => rankRows.count(), SLOW).toBe(members.length);
    const single = await rankSources(members, target, { measure: 'hscore' });
    expect(await rankRows.evaluateAll((rows) => rows.map((r) => r.children[1].textContent))).toEqual(single.ranking.map((e) => e.label));
    expect(await rankRows.evaluateAll((rows) => rows.map((r) => Number(r.children[3].textContent)))).toEqual(
      single.ranking.map((e) => Number(e.score.toFixed(4))),
    );

    // Every score: one table, sorted by knn, with class probabilities for two models.
    await page.selectOption('[data-control="rank-measure"]', 'all');
    await page.selectOption('[data-control="probabilities"]', 'zoo/probs');
    await page.selectOption('[data-control="sort-by"]', 'knn');
    await page.click('[data-action="rank"]');
    const table = page.locator('[data-table="score-table"]');
    // Every score at once includes the cross-validated linear probe: on a CI machine running other suites beside this
    // one it has needed more than 30 s. Twice on CI the table never came (at 30 s, then at 90 s) while the test passes
    // in 6 s here: the poll now also stops at an error the UI shows, and a failure says what the panel showed.
    const panel = async () => {
      const error = page.locator('[data-error]');
      if (await error.count()) return `error shown: ${(await error.allTextContents()).join(' | ')}`;
      const rows = await table.locator('tbody tr').count();
      return rows === members.length
        ? 'table'
        : `${rows} rows; progress: ${(await page.locator('progress, [role="progressbar"]').allTextContents()).join(' | ') || 'none'}`;
    };
    await expect.poll(panel, { timeout: 90_000 }).toMatch(/^(table|error shown: .*)$/);
    expect(await panel()).toBe('table');
    const expected = await rankTable(members, target, { sortBy: 'knn', probabilities: probs });
    const ids = standardRankMeasures();
    expect(await table.locator('thead th').allTextContents()).toEqual(['rank', 'source', 'family', ...ids]);
    const cells = () =>
      table
        .locator('tbody tr')
        .evaluateAll((rows) => rows.map((r) => Array.from(r.children as ArrayLike<{ textContent: string | null }>, (c) => c.textContent ?? '')));
    const shown = await cells();
    expect(shown.map((r) => r[1])).toEqual(expected.rows.map((r) => r.label));
    expected.rows.forEach((row, i) =>
      row.values.forEach((v, j) => expect(shown[i][3 + j], `${row.label} ${ids[j]}`).toBe(v === null ? '–' : Number.isInteger(v) ? String(v) : v.toFixed(4))),
    );
    // Blank LEEP cells for the models without probabilities, explained.
    const leep = 3 + ids.indexOf('leep');
    expect(
      shown
        .filter((r) => r[leep] !== '–')
        .map((r) => r[1])
        .sort(),
    ).toEqual(['pose-a', 'seg-a']);
    expect(await page.locator('[data-score-table] [data-notes]').textContent()).toContain('no class probabilities');
    // Footer: each column's wall time.
    const footer = await table.locator('tfoot td').allTextContents();
    expect(footer[1]).toBe('wall time (s)');
    expect(footer.slice(3).every((t) => /^\d+(\.\d+)?$/.test(t))).toBe(true);

    // Sort by LogME (a header click: largest first, blanks last), then reverse.
    const logmeAt = 3 + ids.indexOf('logme');
    await table.locator('thead th').nth(logmeAt).click();
    expect(await table.locator('thead th').nth(logmeAt).getAttribute('data-sort')).toBe('desc');
    const byLogme = expected.rows.slice().sort((a, b) => b.values[ids.indexOf('logme')]! - a.values[ids.indexOf('logme')]!);
    expect((await cells()).map((r) => r[1])).toEqual(byLogme.map((r) => r.label));
    await table.locator('thead th').nth(logmeAt).click();
    expect((await cells()).map((r) => r[1])).toEqual(byLogme.map((r) => r.label).reverse());
    expect(session.pageErrors).toEqual([]);
  }, 180_000);
});
