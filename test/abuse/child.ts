/**
 * Child side of the abuse harness: imports a case module, runs the named cases in order and prints one JSON line
 * per case. It runs in its own Node process with a capped heap (see bounded.ts), so a case that would exhaust
 * memory or abort V8 takes only this process down, and the parent reports which case did it.
 */
import { pathToFileURL } from 'node:url';
import type { AbuseCases } from './bounded.js';

const [moduleFile, ...names] = process.argv.slice(2);
const mod = (await import(pathToFileURL(moduleFile!).href)) as { cases: AbuseCases };
for (const name of names) {
  const fn = mod.cases[name];
  const t0 = performance.now();
  let status: 'ok' | 'error' = 'ok';
  let message: string | undefined;
  let value: unknown;
  try {
    if (!fn) throw new Error(`no case named ${name}`);
    value = await fn();
  } catch (e) {
    status = 'error';
    message = e instanceof Error ? e.message : String(e);
  }
  const ms = performance.now() - t0;
  // maxRSS is a high-water mark: cases run in order, so the first case whose line crosses the cap is the culprit.
  const rssMB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ name, status, message, value: value === undefined ? undefined : value, ms, rssMB })}\n`);
}
process.exit(0);
