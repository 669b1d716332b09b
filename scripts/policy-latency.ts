/**
 * How long the Taskonomy explorer takes to re-solve and redraw the supervision policy after one change, in a real
 * browser against a real server, on Taskonomy's 25-task 16k files (22 targets + 5 source-only tasks, the UI's
 * defaults; max order 2). Each change is timed from the input event to the new policy on screen. Changes are made
 * one after another without pause (a person dragging a slider is slower, which gives the server's look-ahead
 * solve of the next budget time to finish), for `--rounds` rounds.
 *
 *   npx tsx scripts/policy-latency.ts [--taskonomy ../shared/data/taskonomy] [--rounds 3]
 *
 * Needs /usr/bin/chromium (scripts/ci-setup.sh) and the built UI (npm run build). A measurement, not a test:
 * machine load changes the numbers, so it prints the machine's load average with them.
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildServer } from '../src/server/app.js';
import { launch } from '../test/e2e/browser.js';

const { values } = parseArgs({ options: { taskonomy: { type: 'string', default: '../shared/data/taskonomy' }, rounds: { type: 'string', default: '3' } } });

const server = await buildServer({ dataRoots: [resolve(values.taskonomy)] });
const base = await server.app.listen({ port: 0, host: '127.0.0.1' });
const browser = await launch();
try {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(60_000);
  await page.goto(`${base}/#taskonomy`);
  await page.waitForSelector('[data-timing]');
  const answers = async () => Number((await page.locator('[data-answers]').getAttribute('data-answers')) ?? 0);
  const timed = async (act: () => Promise<unknown>) => {
    const before = await answers();
    const t0 = performance.now();
    await act();
    await page.waitForFunction((k) => Number((globalThis as any).document.querySelector('[data-answers]')?.getAttribute('data-answers')) > k, before, {
      polling: 'raf',
    });
    const ms = performance.now() - t0;
    const note = (await page.locator('[data-timing]').textContent()) ?? '';
    return { ms, server: Number(/server (\d+) ms/.exec(note)?.[1]), solver: Number(/solver (\d+) ms/.exec(note)?.[1]), cached: note.includes('cached') };
  };
  const rows: { change: string; ms: number; server: number; solver: number; cached: boolean }[] = [];
  for (let round = 0; round < Number(values.rounds); round++) {
    if (round > 0) await timed(() => page.click('[data-action="roles-defaults"]')); // back to the defaults (not counted)
    // A different cost each round, so that no answer comes from an earlier round's cache.
    const cost = String(1 + (round + 1) / 10);
    const steps: [string, () => Promise<unknown>][] = [
      [`cost denoise=${cost}`, () => page.fill('[data-cost-of="denoise"]', cost).then(() => page.press('[data-cost-of="denoise"]', 'Tab'))],
      ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((b): [string, () => Promise<unknown>] => [`budget ${b}`, () => page.fill('[data-control="budget"]', String(b))]),
      ['max order 1', () => page.selectOption('[data-control="maxOrder"]', '1')],
      ['max order 2', () => page.selectOption('[data-control="maxOrder"]', '2')],
      ['objective √affinity', () => page.selectOption('[data-control="objective"]', 'sqrtAffinity')],
      ['objective gain', () => page.selectOption('[data-control="objective"]', 'gain')],
      ['objective affinity', () => page.selectOption('[data-control="objective"]', 'affinity')],
      ['denoise → unused', () => page.selectOption('[data-role-of="denoise"]', 'unused')],
      ['budget 3', () => page.fill('[data-control="budget"]', '3')],
    ];
    for (const [change, act] of steps) rows.push({ change, ...(await timed(act)) });
  }
  const ms = rows.map((r) => r.ms).sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))];
  for (const r of rows)
    console.log(
      `${r.change.padEnd(22)} ${r.ms.toFixed(0).padStart(6)} ms   (server ${String(r.server).padStart(4)} ms, solver ${String(r.solver).padStart(4)} ms${r.cached ? ', cached' : ''})`,
    );
  console.log(
    `\n${rows.length} changes: median ${q(0.5).toFixed(0)} ms, 90th percentile ${q(0.9).toFixed(0)} ms, max ${ms[ms.length - 1].toFixed(0)} ms; under 1 s: ${ms.filter((x) => x < 1000).length}/${ms.length}`,
  );
  console.log(
    `load average (1, 5, 15 min): ${loadavg()
      .map((x) => x.toFixed(2))
      .join(', ')} on this machine`,
  );
} finally {
  await browser.close();
  await server.close();
}
