/**
 * End-to-end: the similarity explorer's ranking with the new task's labels beside a member target (headless
 * Chromium, a real `taskmap serve`). Picks a labels file under "with the new task's labels", checks the request the
 * page sends and the third table against what POST /api/rank returns for it; a regression kind keeps LogME.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabelsRanking } from '../../src/ops/rank.js';
import { writeZooFixture, ZOO_FAMILIES } from '../server/fixtures.js';
import { runJob } from '../server/helpers.js';
import { openUiSession, shownCell as shown, SKIP_MESSAGE, skipBrowser, tableRows, type UiSession } from './browser.js';

const SLOW = { timeout: 30_000 };
const models = Object.values(ZOO_FAMILIES).flat();

if (skipBrowser) console.warn(SKIP_MESSAGE);

describe.skipIf(skipBrowser)('ranking with the new task’s labels in the UI', () => {
  let session: UiSession;
  let page: Page;
  const sent: Record<string, unknown>[] = [];

  beforeAll(async () => {
    session = await openUiSession({
      prefix: 'taskmap-e2e-labels-',
      setup: async (d) => {
        const families = await writeZooFixture(join(d, 'zoo', 'features'));
        // 48 images; classes every 4th image, and values for the regression kind.
        await writeFile(join(d, 'zoo', 'labels.csv'), Array.from({ length: 48 }, (_, i) => `c${i % 4}`).join('\n'));
        await writeFile(join(d, 'zoo', 'values.csv'), Array.from({ length: 48 }, (_, i) => String((i % 4) + i / 100)).join('\n'));
        expect(Object.keys(families)).toHaveLength(models.length);
      },
      roots: (d) => [join(d, 'zoo')],
      expectedConsole: /^$/,
    });
    page = session.page;
    page.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/rank') sent.push(JSON.parse(r.postData() ?? '{}'));
    });
  }, 60_000);

  afterAll(async () => {
    await session?.close();
  });

  const rows = (table: string) => tableRows(page, table);

  it('a chosen labels file adds the ranking by the score and by both places summed, as the API gives it', async () => {
    await page.goto(`${session.run.base}/`);
    await expect.poll(() => page.locator('[data-featureset-info]').textContent(), SLOW).toContain('11 models');
    await page.selectOption('[data-measure-form="measure A"] select[data-param="family"]', 'rsa');
    await page.selectOption('[data-control="target"]', 'pose-a');
    await page.fill('[data-control="bootstrap"]', '0');
    expect(await page.locator('[data-control="with-labels"] option').allTextContents()).toEqual(['(none)', 'zoo/labels.csv', 'zoo/values.csv']);
    expect(await page.locator('[data-control="label-score"]').count()).toBe(0);

    await page.selectOption('[data-control="with-labels"]', 'zoo/labels.csv');
    expect(await page.locator('[data-control="label-score"]').inputValue()).toBe('logme');
    await page.selectOption('[data-control="label-score"]', 'knn');
    await page.click('[data-action="rank"]');
    await expect.poll(() => page.locator('[data-table="with-labels-a"] tbody tr').count(), SLOW).toBe(models.length - 1);
    const body = sent[sent.length - 1];
    expect(body).toMatchObject({
      featureSet: 'zoo/features',
      target: 'pose-a',
      measure: 'rsa',
      labelsFile: 'zoo/labels.csv',
      labelScore: 'knn',
      targetKind: 'class',
    });
    const job = await runJob(session.run.base, '/api/rank', body);
    expect(job.status, JSON.stringify(job.error)).toBe('done');
    const both = (job.result as { withLabels: LabelsRanking; families: Record<string, string> }).withLabels;
    const families = (job.result as { families: Record<string, string> }).families;
    expect(await rows('with-labels-a')).toEqual(
      both.ranking.map((e) => [
        shown(e.rank),
        e.label,
        families[e.label],
        shown(e.rankSum),
        shown(e.similarity),
        shown(e.similarityPlace),
        shown(e.score),
        shown(e.scorePlace),
      ]),
    );
    expect(await page.locator('[data-with-labels="a"] [data-with-labels-note]').textContent()).toContain('knn on zoo/labels.csv (class)');

    // Regression values: kNN does not rate them, so the score falls back to LogME.
    await page.selectOption('[data-control="with-labels"]', 'zoo/values.csv');
    await page.selectOption('[data-control="with-labels-kind"]', 'regression');
    expect(await page.locator('[data-control="label-score"]').inputValue()).toBe('logme');
    expect(await page.locator('[data-control="label-score"] option').allTextContents()).toEqual(['logme', 'logme:solver=icml']);
    await page.click('[data-action="rank"]');
    await expect
      .poll(() => page.locator('[data-with-labels="a"] [data-with-labels-note]').textContent(), SLOW)
      .toContain('logme on zoo/values.csv (regression)');
    expect(sent[sent.length - 1]).toMatchObject({ labelsFile: 'zoo/values.csv', labelScore: 'logme', targetKind: 'regression' });
    expect(session.pageErrors).toEqual([]);
  }, 120_000);
});
