/**
 * End-to-end: the similarity explorer's ranking through measured transfers (headless Chromium, a real `taskmap
 * serve`). Picks a result dict of transfers among the fixture's models under "through measured transfers", and checks
 * the second table and the known tasks' weights against what POST /api/rank returns for the same request; a
 * malformed alias is an inline error and nothing is sent.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renameTasks } from '../../src/io/resultDict.js';
import type { ViaTransfersRanking } from '../../src/ops/rank.js';
import { writeZooFixture, ZOO_FAMILIES } from '../server/fixtures.js';
import { runJob } from '../server/helpers.js';
import { openUiSession, shownCell as shown, SKIP_MESSAGE, skipBrowser, tableRows, type UiSession } from './browser.js';

const SLOW = { timeout: 30_000 };

// Measured transfers among the fixture's models: a source transfers best within its family, then by name.
const models = Object.values(ZOO_FAMILIES).flat();
const familyOf = (m: string) => Object.entries(ZOO_FAMILIES).find(([, ms]) => ms.includes(m))![0];
const affinities = Object.fromEntries(models.flatMap((t) => models.map((s, i) => [`${s}__${t}`, (familyOf(s) === familyOf(t) ? 1 : 0) + i / 100])));

if (skipBrowser) console.warn(SKIP_MESSAGE);

describe.skipIf(skipBrowser)('ranking through measured transfers in the UI', () => {
  let session: UiSession;
  let page: Page;
  /** Every POST /api/rank body the page sends. */
  const sent: Record<string, unknown>[] = [];

  beforeAll(async () => {
    session = await openUiSession({
      prefix: 'taskmap-e2e-via-',
      setup: async (d) => {
        await writeZooFixture(join(d, 'zoo', 'features'));
        await writeFile(join(d, 'zoo', 'affinities.json'), JSON.stringify(affinities));
        await writeFile(join(d, 'zoo', 'renamed.json'), JSON.stringify(renameTasks(affinities, { 'pose-b': 'task-b' })));
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

  /** The page on the fixture, measure A rsa, target pose-a, no bootstrap. */
  async function open(): Promise<void> {
    await page.goto(`${session.run.base}/`);
    await expect.poll(() => page.locator('[data-control="featureSet"]').inputValue(), SLOW).toBe('zoo/features');
    await expect.poll(() => page.locator('[data-featureset-info]').textContent(), SLOW).toContain('11 models');
    await page.selectOption('[data-measure-form="measure A"] select[data-param="family"]', 'rsa');
    await expect.poll(() => page.locator('[data-measure-form="measure A"] .measure-id code').textContent(), SLOW).toBe('rsa');
    await page.selectOption('[data-control="target"]', 'pose-a');
    // Typed, not left: the field takes its value as it is typed (it once waited for the change on blur).
    await page.fill('[data-control="bootstrap"]', '0');
  }

  const rows = (table: string) => tableRows(page, table);

  /** What the API answers for the request the page sent last. */
  async function apiAnswer(): Promise<ViaTransfersRanking & { affinities: string }> {
    const job = await runJob(session.run.base, '/api/rank', sent[sent.length - 1]);
    expect(job.status, JSON.stringify(job.error)).toBe('done');
    return (job.result as { viaTransfers: ViaTransfersRanking & { affinities: string } }).viaTransfers;
  }

  it('a chosen result dict adds the ranking through the transfers and the known tasks’ weights, as the API gives them', async () => {
    await open();
    // The dicts are offered, affinities first, none chosen: the ranking alone, and no via-transfers keys sent.
    expect(await page.locator('[data-control="via-transfers"] option').allTextContents()).toEqual(['(none)', 'zoo/affinities.json', 'zoo/renamed.json']);
    expect(await page.locator('[data-control="via-transfers"]').inputValue()).toBe('');
    expect(await page.locator('[data-control="via-aliases"]').count()).toBe(0);
    await page.click('[data-action="rank"]');
    await expect.poll(() => page.locator('[data-table="ranking-table-a"] tbody tr').count(), SLOW).toBe(models.length - 1);
    expect(await page.locator('[data-via-transfers]').count()).toBe(0);
    expect(Object.keys(sent[sent.length - 1]).filter((k) => k.startsWith('via') || k === 'aliases')).toEqual([]);

    await page.selectOption('[data-control="via-transfers"]', 'zoo/affinities.json');
    await page.click('[data-action="rank"]');
    const viaRows = page.locator('[data-table="via-ranking-a"] tbody tr');
    await expect.poll(() => viaRows.count(), SLOW).toBeGreaterThan(0);
    const body = sent[sent.length - 1];
    expect(body).toMatchObject({ featureSet: 'zoo/features', target: 'pose-a', measure: 'rsa', viaTransfers: 'zoo/affinities.json' });
    expect('aliases' in body || 'viaNeighbours' in body || 'bootstrap' in body).toBe(false);
    const via = await apiAnswer();
    expect(await rows('via-ranking-a')).toEqual(via.ranking.map((e) => [shown(e.rank), e.source, shown(e.score)]));
    expect(await rows('via-weights-a')).toEqual(via.weights.map((w) => [w.task, w.member, shown(w.similarity), w.used ? 'yes' : 'no']));
    // The target's family-mates come first; the target itself is no source, and 3 known tasks weigh.
    expect(
      (await rows('via-ranking-a'))
        .slice(0, 2)
        .map((r) => r[1])
        .sort(),
    ).toEqual(['pose-b', 'pose-c']);
    expect((await rows('via-ranking-a')).map((r) => r[1])).not.toContain('pose-a');
    expect(via.weights.filter((w) => w.used)).toHaveLength(3);
    expect(await page.locator('[data-via-transfers="a"] [data-via-note]').textContent()).toContain('3 known tasks most similar to the target');
    expect(await page.locator('[data-via-unranked]').count()).toBe(via.unranked.length ? 1 : 0);
    expect(session.pageErrors).toEqual([]);
  }, 120_000);

  it('a malformed alias is an inline error and nothing is sent; fixed, the renamed dict ranks like the original', async () => {
    await open();
    await page.selectOption('[data-control="via-transfers"]', 'zoo/renamed.json');
    const before = sent.length;
    await page.fill('[data-control="via-aliases"]', 'task-b=pose-b, oops');
    await expect.poll(() => page.locator('[data-via-error]').textContent(), SLOW).toContain('expected old=new');
    expect(await page.locator('[data-via-error]').textContent()).toContain('"oops"');
    expect(await page.locator('[data-action="rank"]').isDisabled()).toBe(true);
    await page.locator('[data-action="rank"]').click({ force: true });
    expect(sent.length).toBe(before);

    await page.fill('[data-control="via-aliases"]', 'task-b=pose-b');
    await page.fill('[data-control="via-neighbours"]', '4');
    await expect.poll(() => page.locator('[data-via-error]').count(), SLOW).toBe(0);
    await page.click('[data-action="rank"]');
    await expect.poll(() => page.locator('[data-via-transfers="a"] [data-via-note]').textContent(), SLOW).toContain('4 known tasks');
    expect(sent[sent.length - 1]).toMatchObject({ viaTransfers: 'zoo/renamed.json', aliases: { 'task-b': 'pose-b' }, viaNeighbours: 4 });
    expect('bootstrap' in sent[sent.length - 1]).toBe(false);
    const via = await apiAnswer();
    expect(await rows('via-ranking-a')).toEqual(via.ranking.map((e) => [shown(e.rank), e.source, shown(e.score)]));
    // The aliases undo the renaming: the same ranking as the original dict with the same neighbours.
    const plain = await runJob(session.run.base, '/api/rank', { ...sent[sent.length - 1], viaTransfers: 'zoo/affinities.json', aliases: undefined });
    expect((plain.result as { viaTransfers: ViaTransfersRanking }).viaTransfers.ranking).toEqual(via.ranking);
    // Neighbours "all", as the CLI's --via-neighbours all; anything else that is no count is refused inline.
    await page.fill('[data-control="via-neighbours"]', 'most');
    await expect.poll(() => page.locator('[data-via-error]').textContent(), SLOW).toContain('or "all"');
    await page.fill('[data-control="via-neighbours"]', 'all');
    await expect.poll(() => page.locator('[data-via-error]').count(), SLOW).toBe(0);
    await page.click('[data-action="rank"]');
    await expect.poll(() => sent[sent.length - 1]?.viaNeighbours, SLOW).toBe('all');
    await expect.poll(() => page.locator('[data-via-transfers="a"] [data-via-note]').textContent(), SLOW).not.toContain('4 known tasks');
    expect((await apiAnswer()).neighbours).toBeNull();
    expect(session.pageErrors).toEqual([]);
  }, 120_000);
});
