/**
 * End-to-end: the built UI in headless Chromium against a real `taskmap serve` (in-process, ephemeral port).
 * Clicks through both explorers and checks what is drawn against the library's own answers on the same files:
 * the dendrogram order, a hovered heatmap value, the source ranking, a pair's permutation test, the Taskonomy policy for budget 3
 * (docs/taskonomy.md#supervision-policy), exports. The re-solve latency is measured by scripts/policy-latency.ts.
 * (README screenshots come from scripts/screenshots.ts, on the real zoo demo output.)
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFeatureSet } from '../../src/features/featureSet.js';
import { writeLabelledMatrix } from '../../src/io/labelledMatrix.js';
import { CATALOGUE } from '../../src/measures/catalogue.js';
import { similarityMatrix } from '../../src/measures/similarity.js';
import { PRECISIONS } from '../../src/ops/similarity.js';
import { LINKAGES } from '../../src/ops/taxonomy.js';
import { POLICY_OBJECTIVES, POLICY_SOLVERS } from '../../src/taskonomy/policy.js';
import { leafOrder, linkage, similarityToDistance } from '../../src/taxonomy/cluster.js';
import { permutationTest } from '../../src/taxonomy/inference.js';
import { rankSources } from '../../src/taxonomy/rank.js';
import { haveSharedData, sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';
import { tournamentsFixture, writeZooFixture } from '../server/fixtures.js';
import type { Running } from '../server/helpers.js';
import { openUiSession, SKIP_MESSAGE, skipBrowser, type UiSession } from './browser.js';

/** Polls wait for background jobs and redraws: longer than expect.poll's default second on a loaded 2-core machine. */
const SLOW = { timeout: 30_000 };

const REFERENCE_TARGETS = ['rgb2sfnorm', 'reshade', 'curvature', 'keypoint3d', 'edge3d', 'rgb2depth'];

if (skipBrowser) console.warn(SKIP_MESSAGE);

describe.skipIf(skipBrowser)('web UI in headless Chromium', () => {
  let session: UiSession;
  let tmp: string;
  let run: Running;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    session = await openUiSession({
      prefix: 'taskmap-e2e-',
      setup: async (d) => {
        await writeZooFixture(join(d, 'zoo', 'features'));
        await writeFile(join(d, 'zoo', 'wins.json'), JSON.stringify(tournamentsFixture()));
        // A stored similarity matrix, as `taskmap demo` writes them.
        await writeLabelledMatrix(join(d, 'zoo', 'similarity-cka.json'), await similarityMatrix(await loadFeatureSet(join(d, 'zoo', 'features')), 'cka'));
      },
      roots: (d) => [join(d, 'zoo'), ...(haveSharedData ? [join(sharedDataDir, 'taskonomy')] : [])],
      // 422s are expected: the test leaves the policy without targets on purpose on its way to the reference problem.
      expectedConsole: /status of 422/,
    });
    ({ tmp, run, page, pageErrors } = session);
  }, 60_000);

  afterAll(async () => {
    await session?.close();
  });

  async function download(action: () => Promise<void>): Promise<{ name: string; bytes: Buffer }> {
    const [d] = await Promise.all([page.waitForEvent('download'), action()]);
    return { name: d.suggestedFilename(), bytes: await readFile((await d.path())!) };
  }

  it('similarity explorer: two measures side by side, tree-ordered heatmap with hover values, MDS by family, ranking, exports', async () => {
    const set = await loadFeatureSet(join(tmp, 'zoo', 'features'));
    const sim = await similarityMatrix(set, 'rsa');
    const order = leafOrder(linkage(similarityToDistance(sim.matrix, sim.rows), 'average', sim.rows)).map((i) => sim.rows[i]);
    const n = sim.rows.length;

    await page.goto(`${run.base}/`);
    await expect.poll(() => page.locator('[data-control="featureSet"]').inputValue(), SLOW).toBe('zoo/features');
    await expect.poll(() => page.locator('[data-featureset-info]').textContent(), SLOW).toContain('4 task families');
    // The forms list what the server serves: the catalogue's families a feature set can feed (no Fisher task
    // measure: they take labelled-task folders), its linkages and precisions.
    const optionValues = (selector: string) =>
      page.locator(`${selector} option`).evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
    const featureSetFamilies = CATALOGUE.filter((e) => e.input === 'representations').map((e) => e.family);
    expect(await optionValues('[data-measure-form="measure A"] select[data-param="family"]')).toEqual(featureSetFamilies);
    expect(featureSetFamilies.some((f) => f.startsWith('fisher'))).toBe(false);
    expect(await optionValues('[data-control="linkage"]')).toEqual([...LINKAGES]);
    expect(await optionValues('[data-control="precision"]')).toEqual([...PRECISIONS]);
    await page.check('[data-control="compare"]');
    await page.selectOption('[data-measure-form="measure B"] select[data-preset]', 'cka:debiased');
    await expect.poll(() => page.locator('[data-measure-form="measure B"] .measure-id code').textContent(), SLOW).toBe('cka:debiased');
    await page.click('[data-action="compute"]');

    const heat = page.locator('[data-figure="heatmap-a"] g.mark-rect.role-mark path');
    await expect.poll(() => heat.count(), SLOW).toBe(n * n);
    await expect.poll(() => page.locator('[data-panel="b"]').getAttribute('data-measure'), SLOW).toBe('cka:debiased');
    expect((await page.locator('[data-panel="a"] [data-leaf-order]').textContent())!.split(' ')).toEqual(order);

    // Dendrogram leaves top to bottom = the tree's leaf order = the heatmap's row order.
    const leaves = await page.locator('[data-figure="dendrogram-a"] [data-leaf]').evaluateAll((els) =>
      els
        .map((e) => ({ name: e.getAttribute('data-leaf')!, y: Number(e.querySelector('circle')!.getAttribute('cy')) }))
        .sort((a, b) => a.y - b.y)
        .map((e) => e.name),
    );
    expect(leaves).toEqual(order);

    // Hover a heatmap cell: the tooltip shows that pair's similarity (cells are drawn in data order, row-major).
    const i = 0;
    const j = 4;
    await heat.nth(i * n + j).hover();
    const tooltip = page.locator('#vg-tooltip-element');
    await expect.poll(() => tooltip.textContent(), SLOW).toContain(sim.matrix.data[i * n + j].toFixed(4));
    expect(await tooltip.textContent()).toContain(sim.rows[i]);

    // MDS coloured by the zoo manifest's task families.
    const mdsLegend = await page.locator('[data-figure="mds-a"] .role-legend').textContent();
    for (const family of ['pose', 'face', 'segmentation', 'detection']) expect(mdsLegend).toContain(family);

    // Source ranking with bootstrap intervals: the table is rankSources' ranking.
    await page.selectOption('[data-control="target"]', 'pose-a');
    await page.fill('[data-control="bootstrap"]', '12');
    await page.click('[data-action="rank"]');
    const rankRows = page.locator('[data-table="ranking-table-a"] tbody tr');
    await expect.poll(() => rankRows.count(), SLOW).toBe(n - 1);
    const expected = await rankSources(set.members, { kind: 'member', label: 'pose-a' }, { measure: 'rsa', bootstrap: 12, seed: 1993 });
    const shown = await rankRows.evaluateAll((rows) => rows.map((r) => r.children[1].textContent));
    expect(shown).toEqual(expected.ranking.map((e) => e.label));
    await expect.poll(() => page.locator('[data-figure="ranking-b"] g.mark-rule.role-mark line').count(), SLOW).toBe(n - 1);

    // Exports: figures as SVG / PNG, tables as CSV / JSON.
    const svg = await download(() => page.click('[data-figure="heatmap-a"] [data-export="svg"]'));
    expect(svg.name).toBe('heatmap-a.svg');
    expect(svg.bytes.toString('utf8')).toMatch(/<svg[\s\S]*pose-a/);
    const png = await download(() => page.click('[data-figure="dendrogram-a"] [data-export="png"]'));
    expect(png.bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const mdsPng = await download(() => page.click('[data-figure="mds-b"] [data-export="png"]'));
    expect(mdsPng.bytes.subarray(1, 4).toString()).toBe('PNG');
    const csv = await download(() => page.click('[data-table="ranking-table-a"] [data-export="csv"]'));
    expect(csv.bytes.toString('utf8').split('\n')[0]).toBe('rank,source,family,score,mean,CI 2.5 %,CI 97.5 %,P(best)');
    const json = JSON.parse((await download(() => page.click('[data-table="ranking-table-a"] [data-export="json"]'))).bytes.toString('utf8'));
    expect(json.ranking).toEqual(expected.ranking);

    // Permutation test of a pair under measure A: observed value, p and the null histogram are the library's.
    await page.selectOption('[data-control="pair-a"]', 'pose-a');
    await page.selectOption('[data-control="pair-b"]', 'face-a');
    await page.fill('[data-control="permutations"]', '19');
    await page.fill('[data-control="pair-seed"]', '5');
    await page.click('[data-action="permutation"]');
    const byLabel = new Map(set.members.map((m) => [m.label, m] as const));
    const test = await permutationTest(byLabel.get('pose-a')!, byLabel.get('face-a')!, 'rsa', { permutations: 19, seed: 5 });
    await expect.poll(() => page.locator('[data-p-value]').textContent(), SLOW).toBe(test.pValue.toPrecision(3));
    expect(await page.locator('[data-observed]').textContent()).toBe(test.observed.toFixed(4));
    expect(await page.locator('[data-permutation-summary]').textContent()).toContain(`${test.extreme} of 19 shuffles ≥ observed, seed 5`);
    await expect.poll(() => page.locator('[data-figure="permutation-null"] g.mark-rect.role-mark path').count(), SLOW).toBeGreaterThan(0);
    await expect.poll(() => page.locator('[data-figure="permutation-null"] g.mark-rule.role-mark line').count(), SLOW).toBe(1);

    // A stored matrix instead of features: tree, heatmap and MDS of the file's own numbers.
    await page.selectOption('[data-control="matrix"]', 'zoo/similarity-cka.json');
    await page.click('[data-action="compute"]');
    await expect.poll(() => page.locator('[data-panel="a"]').getAttribute('data-measure'), SLOW).toBe('cka');
    await expect.poll(() => page.locator('[data-figure="heatmap-a"] g.mark-rect.role-mark path').count(), SLOW).toBe(n * n);
    expect(await page.locator('[data-panel="b"]').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it.skipIf(skipWithoutSharedData)(
    'taskonomy explorer: live policy on the published pickles, budget 3 reference, sweep, AHP, exports',
    async () => {
      await page.goto(`${run.base}/#taskonomy`);
      await expect.poll(() => page.locator('[data-control="affinities"]').inputValue(), SLOW).toBe('taskonomy/results/affinities/all_affinities_16k.pkl');
      expect(await page.locator('[data-control="winsVsPixels"]').inputValue()).toBe('taskonomy/results/winrates/wins_vs_pixels_16k.pkl');
      expect(await page.locator('[data-control="winsVsTask"]').inputValue()).toBe('taskonomy/results/winrates/wins_vs_task_16k.pkl');
      const answers = async () => Number((await page.locator('[data-answers]').getAttribute('data-answers')) ?? 0);
      await expect.poll(answers, SLOW).toBeGreaterThan(0);
      await expect.poll(() => page.locator('[data-figure="before-ahp"] g.mark-rect.role-mark path').count(), SLOW).toBeGreaterThan(400);
      await expect.poll(() => page.locator('[data-figure="after-ahp"] g.mark-rect.role-mark path').count(), SLOW).toBeGreaterThan(400);

      /** Change a control and wait until the server's answer (a policy or a refusal) is drawn. */
      const change = async (act: () => Promise<unknown>): Promise<void> => {
        const before = await answers();
        await act();
        await page.waitForFunction((k) => Number((globalThis as any).document.querySelector('[data-answers]')?.getAttribute('data-answers')) > k, before, {
          polling: 'raf',
        });
      };

      // Live re-solve on the full default problem (22 targets + 5 source-only tasks, max order 2): every change is
      // answered and drawn. (How fast is measured by scripts/policy-latency.ts, not asserted here: tests are not timed.)
      for (const b of [1, 2, 4, 3]) await change(() => page.fill('[data-control="budget"]', String(b)));
      await change(() => page.selectOption('[data-control="maxOrder"]', '1'));
      await change(() => page.selectOption('[data-control="maxOrder"]', '2'));
      await change(() => page.fill('[data-cost-of="denoise"]', '2'));
      expect(Number(await page.locator('[data-policy-summary]').evaluate((e) => /cost ([\d.]+) of 3/.exec(e.textContent ?? '')?.[1]))).toBeLessThanOrEqual(3);
      await change(() => page.selectOption('[data-control="objective"]', 'sqrtAffinity'));

      // The reference problem: six targets, no source-only task, max order 2, √affinity, budget 3.
      await change(() => page.click('[data-action="roles-unused"]'));
      for (const t of REFERENCE_TARGETS) await change(() => page.selectOption(`[data-role-of="${t}"]`, 'target'));
      await change(() => page.fill('[data-cost-of="denoise"]', ''));
      expect(await page.locator('[data-control="budget"]').inputValue()).toBe('3');
      await expect.poll(() => page.locator('[data-supervised]').textContent(), SLOW).toBe('curvature, keypoint3d, rgb2sfnorm');
      expect(await page.locator('[data-objective]').textContent()).toMatch(/^1\.22156[67]/);
      expect(await page.locator('[data-status]').textContent()).toBe('optimal');
      const labelled = await page
        .locator('[data-figure="policy-graph"] [data-role="labelled"]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-task')).sort());
      expect(labelled).toEqual(['curvature', 'keypoint3d', 'rgb2sfnorm']);
      const transferred = await page
        .locator('[data-figure="policy-graph"] [data-role="transfer"]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-task')).sort());
      expect(transferred).toEqual(['edge3d', 'reshade', 'rgb2depth']);
      await expect.poll(() => page.locator('[data-edge="curvature+rgb2sfnorm->edge3d"]').count(), SLOW).toBe(1);
      await expect.poll(() => page.locator('[data-edge="keypoint3d+rgb2sfnorm->rgb2depth"]').count(), SLOW).toBe(1);

      // Objectives and solvers are the server's lists; HiGHS gives the policy `auto` gave.
      const optionValues = (selector: string) =>
        page.locator(`${selector} option`).evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
      expect(await optionValues('[data-control="objective"]')).toEqual([...POLICY_OBJECTIVES]);
      expect(await optionValues('[data-control="solver"]')).toEqual([...POLICY_SOLVERS]);
      await change(() => page.selectOption('[data-control="solver"]', 'highs'));
      await expect.poll(() => page.locator('[data-policy-summary]').textContent(), SLOW).toMatch(/\(highs/);
      expect(await page.locator('[data-supervised]').textContent()).toBe('curvature, keypoint3d, rgb2sfnorm');
      expect(await page.locator('[data-objective]').textContent()).toMatch(/^1\.22156[67]/);
      await change(() => page.selectOption('[data-control="solver"]', 'auto'));

      // Colour by Quality instead of Gain: the edges change colour.
      const edge = page.locator('[data-edge="curvature+rgb2sfnorm->edge3d"] path').first();
      const gainColour = await edge.getAttribute('stroke');
      await page.selectOption('[data-control="colourBy"]', 'quality');
      await expect.poll(() => edge.getAttribute('stroke'), SLOW).not.toBe(gainColour);

      // Budget sweep of this problem: one row per labellable task.
      await page.click('[data-action="sweep"]');
      // A background job: on a loaded 2-core machine it can take longer than expect.poll's default second.
      await expect.poll(() => page.locator('[data-table="sweep-table"] tbody tr').count(), SLOW).toBe(REFERENCE_TARGETS.length);
      const sweepRow3 = await page.locator('[data-table="sweep-table"] tbody tr').nth(2).textContent();
      expect(sweepRow3).toContain('1.2216');
      await expect.poll(() => page.locator('[data-figure="budget-sweep"] g.mark-line.role-mark path').count(), SLOW).toBeGreaterThan(0);

      // Exports of the graph and of the policy table.
      const png = await download(() => page.click('[data-figure="policy-graph"] [data-export="png"]'));
      expect(png.bytes.subarray(1, 4).toString()).toBe('PNG');
      const svg = await download(() => page.click('[data-figure="policy-graph"] [data-export="svg"]'));
      expect(svg.bytes.toString('utf8')).toContain('keypoint3d');
      const policyJson = JSON.parse((await download(() => page.click('[data-table="policy-table"] [data-export="json"]'))).bytes.toString('utf8'));
      expect(policyJson.objective).toBeCloseTo(1.221566380396, 9);
      const sweepCsv = await download(() => page.click('[data-table="sweep-table"] [data-export="csv"]'));
      expect(sweepCsv.bytes.toString('utf8').split('\n')).toHaveLength(REFERENCE_TARGETS.length + 2);

      // Upload Taskonomy's pickle through the UI: it becomes the selected affinities and is solved.
      await page.setInputFiles('[data-upload="results"]', join(sharedDataDir, 'taskonomy/results/affinities/all_affinities.pkl'));
      await expect.poll(() => page.locator('[data-control="affinities"]').inputValue(), SLOW).toBe('uploads/all_affinities.pkl');
      await expect.poll(() => page.locator('[data-status]').textContent(), SLOW).toBe('optimal');

      // AHP on a tournaments file, then its affinities drive the policy.
      await page.selectOption('[data-control="tournaments"]', 'zoo/wins.json');
      await page.click('[data-action="ahp-use"]');
      await expect.poll(() => page.locator('[data-control="affinities"]').inputValue(), SLOW).toBe('uploads/wins-affinities.json');
      await expect.poll(() => page.locator('[data-figure="ahp-after"] g.mark-rect.role-mark path').count(), SLOW).toBeGreaterThan(0);
      await expect.poll(() => page.locator('[data-table="ahp-consistency"] tbody tr').count(), SLOW).toBe(2);
      await expect.poll(() => page.locator('[data-status]').textContent(), SLOW).toBe('optimal');
      expect(pageErrors, pageErrors.join('\n')).toEqual([]);
    },
    60_000,
  );
});
