/**
 * Headless Debian Chromium driven by playwright-core, and the built UI the server serves. Playwright's own browser
 * downloads are not used (not reachable offline); `scripts/ci-setup.sh` installs /usr/bin/chromium. Without it the
 * browser tests skip locally with a message, but fail under CI, so CI can never pass by skipping them.
 */
import { existsSync, statSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot } from '../helpers/sharedData.js';
import { startServer, type Running } from '../server/helpers.js';

export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);
export const skipBrowser = !haveChromium && !process.env.CI;
export const SKIP_MESSAGE = `browser tests skipped: ${CHROMIUM} not found (install it with \`sudo bash scripts/ci-setup.sh\`, i.e. apt-get install chromium)`;

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launch(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  if (!haveChromium) throw new Error(`${CHROMIUM} is missing; CI installs it with scripts/ci-setup.sh`);
  const userDataDir = await mkdtemp(join(tmpdir(), 'taskmap-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1440, height: 1000 },
    acceptDownloads: true,
    timeout: 30_000,
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((e) => newestMtime(join(path, e))));
}

/**
 * The UI to test: dist/web when it is at least as new as its sources (as `npm run build` leaves it, e.g. in CI
 * after `npm ci`), otherwise a fresh Vite build into a temporary folder (dist/ is left alone).
 */
export async function builtUi(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dist = join(repoRoot, 'dist', 'web');
  const web = join(repoRoot, 'web');
  if (existsSync(join(dist, 'index.html')) && statSync(join(dist, 'index.html')).mtimeMs >= newestMtime(web)) {
    return { dir: dist, cleanup: async () => undefined };
  }
  const out = await mkdtemp(join(tmpdir(), 'taskmap-ui-'));
  const { build } = await import('vite');
  await build({ configFile: join(web, 'vite.config.ts'), logLevel: 'warn', build: { outDir: out, emptyOutDir: true } });
  return { dir: out, cleanup: () => rm(out, { recursive: true, force: true }) };
}

export interface UiSession {
  /** The session's temporary folder (data roots and uploads live under it). */
  tmp: string;
  run: Running;
  page: Page;
  /** Uncaught page errors and console errors not matching `expectedConsole`. */
  pageErrors: string[];
  close: () => Promise<void>;
}

/**
 * One browser test session: a temp folder filled by `setup`, the server on `roots(tmp)` with uploads in the temp
 * folder serving the built UI, and a Chromium page that records errors (console errors whose text matches
 * `expectedConsole` are the test's own, e.g. a 422 it provokes).
 */
export async function openUiSession(opts: {
  prefix: string;
  setup: (tmp: string) => Promise<void>;
  roots: (tmp: string) => string[];
  expectedConsole: RegExp;
}): Promise<UiSession> {
  const tmp = await mkdtemp(join(tmpdir(), opts.prefix));
  await opts.setup(tmp);
  const ui = await builtUi();
  const run = await startServer({ dataRoots: opts.roots(tmp), uploadDir: join(tmp, 'uploads'), uiDir: ui.dir });
  const browser = await launch();
  const page = await browser.context.newPage();
  page.setDefaultTimeout(20_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !opts.expectedConsole.test(m.text())) pageErrors.push(m.text());
  });
  return {
    tmp,
    run,
    page,
    pageErrors,
    close: async () => {
      await browser.close();
      await run.close();
      await ui.cleanup();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

/** A number as the UI's DataTable shows it: integers as they are, others to 4 decimals. */
export function shownCell(v: number | string): string {
  return typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : v;
}

/** The body cells of a DataTable (by its data-table id), row by row, as text. */
export function tableRows(page: Page, table: string): Promise<string[][]> {
  return page
    .locator(`[data-table="${table}"] tbody tr`)
    .evaluateAll((trs) => trs.map((r) => Array.from(r.children as ArrayLike<{ textContent: string | null }>, (c) => c.textContent ?? '')));
}
