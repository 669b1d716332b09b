import { describe, expect, it } from 'vitest';
import { runBounded } from './bounded.js';

const mod = new URL('./selftest.cases.ts', import.meta.url);

describe('abuse harness', () => {
  it('reports a value, a refusal and a heap blow-up as different outcomes', async () => {
    const r = await runBounded(mod, ['returns', 'refuses', 'hogsHeap'], { heapMB: 64 });
    expect(r.get('returns')).toMatchObject({ status: 'ok', value: 42 });
    expect(r.get('refuses')).toMatchObject({ status: 'error', message: 'refused: too big' });
    expect(r.get('hogsHeap')?.status).toBe('crashed');
    expect(r.get('returns')!.rssMB).toBeGreaterThan(10);
  });
  it('reports a case that never ends as a timeout', async () => {
    const r = await runBounded(mod, ['hangs'], { timeoutMs: 3000 });
    expect(r.get('hangs')?.status).toBe('timeout');
  });
});
