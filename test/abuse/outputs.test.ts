import { beforeAll, describe, expect, it } from 'vitest';
import { RSS_CAP_MB, runBounded, type BoundedResult } from './bounded.js';
import { cases, type OutputOutcome } from './outputs.cases.js';

const MOD = new URL('./outputs.cases.ts', import.meta.url);
let results: Map<string, BoundedResult>;

/** Every case ran to completion (no crash, no hang) within seconds and under the memory cap; its outcome. */
function outcome(name: string): OutputOutcome {
  const r = results.get(name)!;
  expect(r, name).toBeDefined();
  expect(r.status, `${name}: ${r.message}`).toBe('ok');
  expect(r.ms).toBeLessThan(10_000);
  expect(r.rssMB).toBeLessThan(RSS_CAP_MB);
  return r.value as OutputOutcome;
}

function refused(name: string, ...says: (string | RegExp)[]): string {
  const o = outcome(name);
  expect(o.intact, `${name}: a file outside the output changed`).toBe(true);
  expect(o.refused, `${name} was not refused`).toBeDefined();
  for (const s of says) expect(o.refused).toMatch(s);
  return o.refused!;
}

describe('abuse: outputs never destroy inputs or anything outside the output', () => {
  beforeAll(async () => {
    results = await runBounded(MOD, Object.keys(cases), { timeoutMs: 120_000 });
  }, 150_000);

  it('a manifest naming a file outside its folder is refused and nothing is deleted', () => {
    refused('extractManifestEscape', /manifest\.json/, /entries\[0\]\.file/, /"\.\.\/victim\.txt"/, /leaves its folder/, /delete it/);
    refused('extractManifestAbsolute', /manifest\.json/, /absolute path/);
    refused('extractManifestNoEntries', /manifest\.json/, /"entries" is missing/);
  });

  it('an output that is an input (or a link to it) is refused before anything runs', () => {
    refused('rdmOutIsInput', /--out .*fs\/a\.npy is also an input/);
    refused('rdmOutIsLinkToInput', /--out .*link\.npy is also an input/);
    refused('taxonomyOutIsInput', /--out .*sim\.json is also an input/);
    refused('taxonomyNewickIsInput', /--newick .*sim\.json is also an input/);
    refused('evaluateOutIsTruth', /--out .*t\.json is also an input/);
    refused('policyOutIsInput', /--out .*aff\.json is also an input/);
    refused('candidatesOutIsInput', /--out .*aff\.json is also an input/);
    refused('ahpOutIsInput', /--out .*l\.csv is also an input/);
    refused('ahpGainOutIsInput', /--gain-out .*l\.csv is also an input/);
    refused('taxonomyTwoOutputsOneFile', /t\.json: also given as --newick/);
  });

  it('feature files inside an input feature folder are input, existing or new', () => {
    refused('similarityOutIsMember', /would overwrite a file the input folder .*fs is read from/);
    refused('similarityOutNewMember', /would add a file the input folder .*fs is read from/, /member next time/);
    const fine = outcome('similarityOutsideIsFine');
    expect(fine).toEqual({ refused: undefined, intact: true });
  });

  it('a command with several outputs writes none of them when one fails', () => {
    refused('ahpSecondOutputFails', /bad\/x\.json: cannot write it: .*bad is a file, not a folder; no output was written/);
  });

  it('a list option that names nothing is a usage error, not a TypeError', () => {
    refused('emptyOrder', /--order: expected a comma-separated list of names, got ","/);
  });

  it('new labels beside old data (a crash between the two renames) are detected on read', () => {
    const r = outcome('tornSidecar') as unknown as { readAfterCrash: string; before: string[] };
    expect(r.before).toEqual(['a', 'b']);
    expect(r.readAfterCrash).toMatch(/m\.npy\.labels\.json: these labels were written for different data than .*m\.npy/);
  });

  it("a killed writer's temp file is removed by the next write; a live writer's is kept", () => {
    const { names, pid } = outcome('staleTemps') as unknown as { names: string[]; pid: number };
    expect(names).toHaveLength(2);
    expect(names).toContain('out.json');
    expect(names.find((n) => n.endsWith('.tmp'))).toMatch(new RegExp(`^\\.out\\.json\\.${pid}\\.`));
  });
});
