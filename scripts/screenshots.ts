/**
 * Screenshots of both explorers for the README (docs/screenshots/*.png), on real data: the zoo demo's output
 * (`taskmap demo` → ./taskmap-demo) and Taskonomy's published files.
 *
 *   npx tsx scripts/screenshots.ts [--demo taskmap-demo] [--taskonomy ../shared/data/taskonomy] [--out docs/screenshots]
 *
 * Needs /usr/bin/chromium (scripts/ci-setup.sh) and the built UI (npm run build).
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildServer } from '../src/server/app.js';
import { launch } from '../test/e2e/browser.js';

const { values } = parseArgs({
  options: {
    demo: { type: 'string', default: 'taskmap-demo' },
    taskonomy: { type: 'string', default: '../shared/data/taskonomy' },
    out: { type: 'string', default: 'docs/screenshots' },
  },
});

const server = await buildServer({ dataRoots: [resolve(values.demo), resolve(values.taskonomy)] });
const base = await server.app.listen({ port: 0, host: '127.0.0.1' });
const browser = await launch();
try {
  const out = resolve(values.out);
  await mkdir(out, { recursive: true });
  const page = await browser.context.newPage();
  page.setDefaultTimeout(180_000); // bootstrap rankings of ~50 zoo models take a while
  await page.setViewportSize({ width: 1600, height: 1250 });

  // Landing: the demo's stored RSA matrix is drawn without pressing anything.
  await page.goto(`${base}/`);
  await page.waitForSelector('[data-landing]');
  await page.waitForSelector('[data-panel="a"] [data-figure="mds-a"] g.mark-symbol path');

  // Similarity explorer: the zoo's features, RSA beside DDS (znorm, cosine), sources for one model.
  await page.waitForSelector('[data-featureset-info]');
  await page.check('[data-control="compare"]');
  await page.selectOption('[data-measure-form="measure B"] select[data-preset]', 'dds:norm=znorm,kernel=cosine');
  await page.click('[data-action="compute"]');
  // Both panels recomputed (the landing view of the demo's stored RSA matrix is replaced), no job still running.
  await page.waitForSelector('[data-panel="a"][data-measure="rsa"] [data-figure="mds-a"] g.mark-symbol path');
  await page.waitForSelector('[data-panel="b"][data-measure="dds:norm=znorm,kernel=cosine"] [data-figure="mds-b"] g.mark-symbol path');
  await page.waitForFunction(() => !(globalThis as any).document.querySelector('[role="progressbar"]'));
  await page.mouse.move(0, 0);
  await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
  await page.screenshot({ path: join(out, 'similarity-explorer.png') });
  await page.selectOption('[data-control="target"]', 'movenet-lightning').catch(() => undefined); // a zoo pose model
  await page.fill('[data-control="bootstrap"]', '20');
  await page.click('[data-action="rank"]');
  await page.waitForSelector('[data-table="ranking-table-a"] tbody tr');
  await page.waitForSelector('[data-table="ranking-table-b"] tbody tr');
  await page.locator('[data-figure="mds-a"]').evaluate((e) => e.scrollIntoView({ block: 'start' }));
  await page.mouse.move(0, 0);
  await page.screenshot({ path: join(out, 'similarity-explorer-mds-ranking.png') });

  // Taskonomy explorer: the 16k pickles, six 3-D targets, budget 3, max order 2, √affinity; then the sweep.
  await page.goto(`${base}/#taskonomy`);
  await page.waitForSelector('[data-timing]');
  await page.click('[data-action="roles-unused"]');
  for (const t of ['rgb2sfnorm', 'reshade', 'curvature', 'keypoint3d', 'edge3d', 'rgb2depth']) await page.selectOption(`[data-role-of="${t}"]`, 'target');
  await page.selectOption('[data-control="objective"]', 'sqrtAffinity');
  await page.fill('[data-control="budget"]', '3');
  await page.waitForFunction(() => (globalThis as any).document.querySelector('[data-supervised]')?.textContent === 'curvature, keypoint3d, rgb2sfnorm');
  await page.click('[data-action="sweep"]');
  await page.waitForSelector('[data-table="sweep-table"] tbody tr');
  await page.mouse.move(0, 0);
  await page.screenshot({ path: join(out, 'taskonomy-explorer.png'), fullPage: true });
  console.log(`wrote similarity-explorer.png, similarity-explorer-mds-ranking.png and taskonomy-explorer.png to ${out}`);
} finally {
  await browser.close();
  await server.close();
}
