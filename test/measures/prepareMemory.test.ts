/**
 * The preparation memory model (measures/prepareMemory.ts), hand-worked: the closed forms the refusal in
 * similarity.ts and the --dry-run estimate share, and the rule that decides when a member is streamed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { setMaxMemory } from '../../src/io/limits.js';
import { writeNpy } from '../../src/io/npy.js';
import { RANK_CHUNK } from '../../src/linalg/chunkedRanks.js';
import {
  comparisonBytes,
  featureStageBytes,
  loadedBytes,
  preparedValues,
  rankWorkBytes,
  squareStageBytes,
  streamsMember,
} from '../../src/measures/prepareMemory.js';

const dir = mkdtempSync(join(tmpdir(), 'prepare-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rsa = { matrix: { type: 'rdm', distance: 'correlation' }, compare: 'spearman' } as const;

describe('prepareMemory', () => {
  it('counts rankData’s ~24 bytes per value up to RANK_CHUNK values, then a byte per value plus one chunk', () => {
    expect(rankWorkBytes(1000)).toBe(24_000);
    expect(rankWorkBytes(RANK_CHUNK)).toBe(24 * RANK_CHUNK);
    expect(rankWorkBytes(2e8)).toBe(2e8 + Math.ceil(44 * 1.1 * RANK_CHUNK));
    // The chunked work is far below rankData's at N = 20,000 (4.8 GB).
    expect(rankWorkBytes(2e8)).toBeLessThan(0.7e9);
  });

  it('an N = 20,000 RSA member: its RDM, the triangle and the chunked ranking work', () => {
    const t = (20000 * 19999) / 2;
    expect(squareStageBytes(20000, rsa)).toBe(8 * 20000 ** 2 + 8 * t + t + Math.ceil(44 * 1.1 * RANK_CHUNK));
    // Three n×n for the RBF kernel; CKA writes into the members' block, so no more than the matrix.
    expect(squareStageBytes(100, { matrix: { type: 'kernel', kernel: 'rbf' }, compare: 'cka' })).toBe(3 * 8 * 100 * 100);
    expect(squareStageBytes(100, { matrix: { type: 'kernel', kernel: 'linear' }, compare: 'cka' })).toBe(8 * 100 * 100);
    // ρ-a: the triangle and its ranks besides the ranking work.
    expect(squareStageBytes(100, { ...rsa, compare: 'rho-a' })).toBe(80_000 + 16 * 4950 + 24 * 4950);
  });

  it('keeps a vector per member and stacks only those not prepared into one block', () => {
    expect(preparedValues(100, 'cka')).toBe(100 + 4950);
    expect(preparedValues(100, 'spearman')).toBe(4950);
    expect(preparedValues(100, 'cosine-cov')).toBe(100 + 4950);
    expect(preparedValues(100, 'kendall')).toBe(4950);
    expect(comparisonBytes(3, 100, 'spearman')).toBe(0);
    expect(comparisonBytes(3, 100, 'kendall')).toBe(0);
    expect(comparisonBytes(3, 100, 'cosine')).toBe(8 * 3 * 4950);
  });

  it('counts the features as read, in float64, and the distances’ scaled copy; or a streamed block and tile', () => {
    expect(featureStageBytes(10, 6, 4, rsa, { read: true, streamed: false })).toBe(240 + 480);
    expect(featureStageBytes(10, 6, 4, rsa, { read: false, streamed: false })).toBe(480);
    expect(featureStageBytes(10, 6, 4, { ...rsa, matrix: { type: 'rdm', distance: 'euclidean' } }, { read: false, streamed: false })).toBe(960);
    // Streamed under 1,760 bytes: blocks of (1,760 − the n×n matrix's 800)/6 = 160 bytes, so 2 features, and tiles of
    // 2 rows → 10·2·(8 + 4) + 2·8·2·10 (the tile twice); nothing is read whole.
    try {
      setMaxMemory(1760);
      expect(featureStageBytes(10, 6, 4, rsa, { read: true, streamed: true })).toBe(240 + 320);
    } finally {
      setMaxMemory(undefined);
    }
  });

  it('streams a member when it can be streamed and loading it would be over the budget', () => {
    const file = join(dir, 'm.npy');
    writeFileSync(file, writeNpy({ dtype: 'float32', shape: [10, 6], data: new Float32Array(60) }));
    const ints = join(dir, 'i.npy');
    writeFileSync(ints, writeNpy({ dtype: 'int32', shape: [10, 6], data: new Int32Array(60) }));
    expect(loadedBytes(10, 6, 4)).toBe(720 + 2400);
    try {
      setMaxMemory(3120);
      expect(streamsMember(file, 10, 6, { norm: 'centering' })).toBe(false);
      setMaxMemory(3119);
      expect(streamsMember(file, 10, 6, { norm: 'centering' })).toBe(true);
      expect(streamsMember(file, 10, 6, { norm: 'layer_norm' })).toBe(false);
      // Not float features: left to the loader, whose error says so.
      expect(streamsMember(ints, 10, 6, { norm: 'centering' })).toBe(false);
      expect(streamsMember(join(dir, 'missing.npy'), 10, 6, { norm: 'centering' })).toBe(false);
    } finally {
      setMaxMemory(undefined);
    }
  });
});
