/**
 * Issue 11, readers and inputs: every hostile input of readers.cases.ts ends, in a heap-capped child, with a clear
 * refusal that names the file and the problem (and, for size limits, the limit and how to raise it), within
 * seconds and under RSS_CAP_MB; and the legitimate inputs just under each limit still load.
 */
import { describe, expect, it } from 'vitest';
import { RSS_CAP_MB, runBounded, type BoundedResult } from './bounded.js';

const mod = new URL('./readers.cases.ts', import.meta.url);
const CASE_MS = 8000;

type Expect = { file: RegExp; problem: RegExp; limit?: RegExp };

/** A refusal: status error, the file and the problem named, a limit named with how to raise it. */
function refused(r: BoundedResult | undefined, e: Expect): void {
  expect(r, 'case ran').toBeDefined();
  expect({ status: r!.status, message: r!.message }).toMatchObject({ status: 'error' });
  expect(r!.message).toMatch(e.file);
  expect(r!.message).toMatch(e.problem);
  if (e.limit) expect(r!.message).toMatch(e.limit);
  // Nothing echoed from a file makes a message long.
  expect(r!.message!.length).toBeLessThan(1000);
  expect(r!.message).not.toMatch(/serialize a BigInt|Maximum call stack|circular structure|Map maximum size|allocation failed|EISDIR/);
  within(r!);
}

function within(r: BoundedResult): void {
  expect(r.ms).toBeLessThan(CASE_MS);
  expect(r.rssMB).toBeLessThan(RSS_CAP_MB);
}

function loaded(r: BoundedResult | undefined, value: unknown): void {
  expect({ status: r?.status, message: r?.message, value: r?.value }).toMatchObject({ status: 'ok', value });
  within(r!);
}

const MEMORY = /--max-memory/;

describe('abuse: readers and inputs (issue 11)', () => {
  it('quadratic tournaments, oversized dense matrices and n×n feature matrices are refused before allocating', async () => {
    const r = await runBounded(mod, [
      'lossesManySources',
      'lossesManySourcesLibrary',
      'lossesCapRaisedBudget',
      'policyManyTasks',
      'lossesJustUnder',
      'resultDictSquare',
      'labelledManyLabels',
      'labelledManyLabelsJson',
      'featuresQuadratic',
      'features70k',
      'featuresJustUnder',
    ]);
    // The reported crash: 12,000–30,000 sources for one target. The per-target cap refuses them before any
    // quadratic work; past a raised cap, the memory budget does.
    refused(r.get('lossesManySources'), {
      file: /losses\.csv/,
      problem: /target "t" has 30,000 candidate sources, over the limit of 4,096 per target/,
      limit: /maxCandidates/,
    });
    refused(r.get('lossesManySourcesLibrary'), {
      file: /losses12k\.csv/,
      problem: /12,000 candidate sources, over the limit of 4,096/,
      limit: /maxCandidates/,
    });
    refused(r.get('policyManyTasks'), { file: /many\.json/, problem: /40,000 tasks, over the policy limit of 1,000/, limit: /POLICY_LIMITS\.maxTasks/ });
    refused(r.get('lossesCapRaisedBudget'), {
      file: /raised\.csv/,
      problem: /tournament of target "t" \(12,000 candidate sources/,
      limit: /max-memory|max-old-space-size/,
    });
    loaded(r.get('lossesJustUnder'), 300);
    refused(r.get('resultDictSquare'), { file: /square\.json/, problem: /20,000 sources × 20,000 targets/, limit: MEMORY });
    refused(r.get('labelledManyLabels'), { file: /labels\.csv/, problem: /record 2 has 1 fields, expected 60001/ });
    refused(r.get('labelledManyLabelsJson'), { file: /labels\.json/, problem: /matrix\[0\] must have 60000 values/ });
    refused(r.get('featuresQuadratic'), { file: /set/, problem: /3 members on 20,000 images/, limit: MEMORY });
    refused(r.get('features70k'), { file: /set70k/, problem: /70,000 images/, limit: MEMORY });
    loaded(r.get('featuresJustUnder'), 9);
  }, 120_000);

  it('pickles: huge integers, shared-reference bombs, deep nesting, cycles, memo floods and globals', async () => {
    const r = await runBounded(mod, [
      'pickleLong4',
      'pickleLongJustUnder',
      'pickleBigInt',
      'pickleBillionLaughs',
      'pickleDeep',
      'pickleDeepJustUnder',
      'pickleCycle',
      'pickleMemo',
      'pickleGlobal',
    ]);
    refused(r.get('pickleLong4'), { file: /long4\.pkl/, problem: /integer .* 196,608 bytes long, over the limit of 256 bytes/, limit: /maxIntBytes/ });
    loaded(r.get('pickleLongJustUnder'), 'bigint');
    refused(r.get('pickleBigInt'), { file: /bigint\.pkl/, problem: /value of "a__b" is an integer of \d+ bits, too large for a float/ });
    refused(r.get('pickleBillionLaughs'), { file: /laughs\.pkl/, problem: /billion laughs/, limit: MEMORY });
    refused(r.get('pickleDeep'), { file: /deep\.pkl/, problem: /nested more than 1,000 levels/, limit: /maxDepth/ });
    loaded(r.get('pickleDeepJustUnder'), true);
    refused(r.get('pickleCycle'), { file: /cycle\.pkl/, problem: /reference cycle/ });
    refused(r.get('pickleMemo'), { file: /memo\.pkl/, problem: /memo .* over the limit/, limit: MEMORY });
    refused(r.get('pickleGlobal'), { file: /evil\.pkl/, problem: /refusing to unpickle global os\.system: only plain data/ });
  }, 120_000);

  it('zip bombs and duplicate members in .npz; silent wrong results become errors', async () => {
    const r = await runBounded(mod, [
      'npzDeclaredHuge',
      'npzLyingSize',
      'npzDuplicate',
      'npzJustUnder',
      'ddsZeroVariance',
      'caseCollision',
      'lossesHeaderOnly',
      'lossesHex',
    ]);
    refused(r.get('npzDeclaredHuge'), { file: /bomb\.npz/, problem: /inflating member "a\.npy" to the 4,294,967,280 bytes/, limit: MEMORY });
    refused(r.get('npzLyingSize'), { file: /liar\.npz/, problem: /inflates to more than the 1,000 bytes its zip directory declares/ });
    refused(r.get('npzDuplicate'), { file: /dup\.npz/, problem: /two members named "a\.npy"/ });
    loaded(r.get('npzJustUnder'), 2);
    refused(r.get('ddsZeroVariance'), { file: /zv\/flat\.npy/, problem: /no variance/ });
    refused(r.get('caseCollision'), { file: /a\.npy and .*a\.NPY|a\.NPY and .*a\.npy/, problem: /both give the label "a"/ });
    refused(r.get('lossesHeaderOnly'), { file: /header\.csv/, problem: /no losses after the header/ });
    refused(r.get('lossesHex'), { file: /hex\.csv:2/, problem: /loss "0x10" is not a finite number/ });
  }, 120_000);

  it('special files, directories, non-UTF-8 names and huge headers give clear messages', async () => {
    const r = await runBounded(mod, [
      'fifoInFeatureDir',
      'devZeroLink',
      'symlinkToRegularFile',
      'directoryAsFile',
      'directoryAsNpy',
      'lossesFifo',
      'lossesDirectory',
      'imageDevZeroLink',
      'tfjsShardEscape',
      'nonUtf8Name',
      'npyHugeHeader',
      'npyLongHeaderJustUnder',
    ]);
    refused(r.get('fifoInFeatureDir'), { file: /fifo\/b\.npy/, problem: /named pipe \(FIFO\), not a regular file/ });
    refused(r.get('devZeroLink'), { file: /zero\.npy/, problem: /is a device, not a regular file/ });
    loaded(r.get('symlinkToRegularFile'), 6);
    refused(r.get('directoryAsFile'), { file: /x\.csv/, problem: /is a directory, not a file/ });
    refused(r.get('directoryAsNpy'), { file: /x\.npy/, problem: /is a directory, not a file/ });
    refused(r.get('lossesFifo'), { file: /losses\.csv/, problem: /named pipe \(FIFO\), not a regular file/ });
    refused(r.get('lossesDirectory'), { file: /losses\.csv/, problem: /is a directory, not a file \(expected a losses CSV\)/ });
    refused(r.get('imageDevZeroLink'), { file: /imgs\/z\.png/, problem: /is a device, not a regular file/ });
    refused(r.get('tfjsShardEscape'), { file: /model\.json/, problem: /"\.\.\/secret\.bin" leaves its folder/ });
    refused(r.get('nonUtf8Name'), { file: /\$'.*names\/bad\\xff\\xfe\.npy'/, problem: /not a \.npy file/ });
    refused(r.get('npyHugeHeader'), { file: /header\.npy/, problem: /header is 409,600 bytes long, over the limit of 10,000/, limit: /maxHeaderBytes/ });
    refused(r.get('npyLongHeaderJustUnder'), { file: /long-header\.npy/, problem: /corrupt \.npy header .*more characters/ });
  }, 120_000);

  it('.npz members are checked against their .npy header before inflating, and inflated into one buffer', async () => {
    const r = await runBounded(mod, ['npzHeaderBomb', 'npzHeaderAgreesOverBudget']);
    refused(r.get('npzHeaderBomb'), {
      file: /bomb2\.npz/,
      problem: /member "a\.npy" has a \.npy header for a 100000×4800 float64 array \(3,840,000,000 bytes .*declares 3,900,000,128 bytes; .*zip bomb/,
    });
    refused(r.get('npzHeaderAgreesOverBudget'), { file: /agree\.npz/, problem: /inflating member "a\.npy" to the 67,108,992 bytes/, limit: MEMORY });
    // Refused from headers: nothing near the declared sizes was allocated.
    expect(r.get('npzHeaderAgreesOverBudget')!.rssMB).toBeLessThan(400);
    // A member that header and directory agree on costs its size once (256 MiB), not twice (the old inflateRawSync peaked near 660 MB here).
    const once = await runBounded(mod, ['npzInflatesOnce']);
    loaded(once.get('npzInflatesOnce'), [67_108_864]);
    expect(once.get('npzInflatesOnce')!.rssMB).toBeLessThan(256 + 300);
  }, 120_000);
});
