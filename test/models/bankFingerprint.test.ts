import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveModel } from '../../src/models/resolve.js';

const shipped = join(import.meta.dirname, '../../models/taskbank');
const root = mkdtempSync(join(tmpdir(), 'taskmap-bankfp-'));
const saved = process.env.TASKMAP_BANK_DIR;

afterAll(() => {
  if (saved === undefined) delete process.env.TASKMAP_BANK_DIR;
  else process.env.TASKMAP_BANK_DIR = saved;
  rmSync(root, { recursive: true, force: true });
});

async function fingerprintIn(dir: string): Promise<string> {
  process.env.TASKMAP_BANK_DIR = dir;
  return (await resolveModel('bank-edges')).fingerprint;
}

describe('task bank encoders are keyed by their weights in the feature cache', () => {
  it('a retrained encoder (same name and manifest, other weights) gets another fingerprint; an identical copy the same', async () => {
    const a = join(root, 'a');
    const b = join(root, 'b');
    const c = join(root, 'c');
    for (const d of [a, b, c]) cpSync(shipped, d, { recursive: true });
    // "Retrain" b: one weight byte differs.
    const weights = readdirSync(join(b, 'edges')).find((f) => f.endsWith('.bin'))!;
    const bytes = readFileSync(join(b, 'edges', weights));
    bytes[100] ^= 1;
    writeFileSync(join(b, 'edges', weights), bytes);
    const fa = await fingerprintIn(a);
    expect(fa).toMatch(/^[0-9a-f]{64}$/);
    expect(await fingerprintIn(b)).not.toBe(fa);
    expect(await fingerprintIn(c)).toBe(fa);
  });
});
