import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { combinations, generateCandidates, markMeasured, rankingFromAffinities } from '../../src/taskonomy/candidates.js';
import { canonicalKey, parseResultDict, type ResultDict } from '../../src/taskonomy/results.js';
import { skipWithoutSharedData } from '../helpers/sharedData.js';

const DATA = '../shared/data/taskonomy';
const readJson = <T>(p: string): T => JSON.parse(readFileSync(`${DATA}/${p}`, 'utf8')) as T;

describe('combinations', () => {
  it('lists k-subsets in lexicographic order with binomial counts', () => {
    expect([...combinations(['a', 'b', 'c', 'd'], 2)]).toEqual([
      ['a', 'b'],
      ['a', 'c'],
      ['a', 'd'],
      ['b', 'c'],
      ['b', 'd'],
      ['c', 'd'],
    ]);
    expect([...combinations([1, 2, 3, 4, 5, 6], 4)].length).toBe(15);
    expect([...combinations([1, 2], 3)]).toEqual([]);
  });
});

describe('candidate generation', () => {
  const dict: ResultDict = {
    self__t: 0.3,
    t__t: 0.05,
    a__t: 0.2,
    b__t: 0.15,
    c__t: 0.1,
    random__t: 0.12,
    d__t: 0.02,
    a__b__t: 0.06,
  };

  it('ranks first-order sources without the target itself, self or pixels', () => {
    expect(rankingFromAffinities(dict)).toEqual({ t: ['a', 'b', 'random', 'c', 'd'] });
    expect(rankingFromAffinities(dict, { exclude: ['random'] })).toEqual({ t: ['a', 'b', 'c', 'd'] });
  });

  it('generates k-subsets of the top b, chains, and marks measured ones', () => {
    const ranking = rankingFromAffinities(dict);
    const cands = markMeasured(generateCandidates(ranking, { top: 3, maxOrder: 3, chains: { from: 4, to: 5 } }), dict);
    expect(cands.map((c) => [c.key, c.kind, c.measured])).toEqual([
      ['a__b__t', 'subset', true],
      ['a__random__t', 'subset', false],
      ['b__random__t', 'subset', false],
      ['a__b__random__t', 'subset', false],
      ['a__b__c__random__t', 'chain', false],
      ['a__b__c__d__random__t', 'chain', false],
    ]);
    // A chain equal to a subset is listed once.
    expect(generateCandidates(ranking, { top: 3, maxOrder: 3, chains: { from: 3, to: 3 } }).length).toBe(4);
    expect(generateCandidates(ranking, { top: 2, topForOrder: { 3: 4 }, maxOrder: 3 }).map((c) => c.key)).toEqual([
      'a__b__t',
      'a__b__random__t',
      'a__b__c__t',
      'a__c__random__t',
      'b__c__random__t',
    ]);
  });

  it('names the target when the ranking is too short or missing', () => {
    const ranking = rankingFromAffinities(dict);
    expect(() => generateCandidates(ranking, { top: 6 })).toThrow(/target "t" has 5 ranked sources; order 2 needs the top 6/);
    expect(() => generateCandidates(ranking, { targets: ['u'] })).toThrow(/target "u" has no first-order ranking/);
    expect(() => rankingFromAffinities(dict, { targets: ['u'] })).toThrow(/target "u" has no first-order transfer/);
    expect(() => generateCandidates(ranking, { top: 0 })).toThrow(/top must be an integer ≥ 1/);
  });
});

describe.skipIf(skipWithoutSharedData)('candidate generation on the Taskonomy files', () => {
  const keysByOrder = (dict: ResultDict, order: number) =>
    new Set(
      parseResultDict(dict)
        .filter((k) => k.sources.length === order)
        .map((k) => canonicalKey(k.sources, k.target)),
    );

  it('reproduces every second-order key of all_affinities from ranked_first_order_transfers (pairs of the top 5)', () => {
    const dict = readJson<ResultDict>('results/affinities/all_affinities.json');
    const ranking = readJson<Record<string, string[]>>('code/tools/ranked_first_order_transfers.json');
    const generated = generateCandidates(ranking, { top: 5, maxOrder: 2 });
    expect(generated.length).toBe(220);
    expect(new Set(generated.map((c) => c.key))).toEqual(keysByOrder(dict, 2));
  });

  it('reproduces the order-5…24 chains of all_affinities_16k (final_first_order_rank, class_selected skipped)', () => {
    const dict = readJson<ResultDict>('results/affinities/all_affinities_16k.json');
    const ranking = readJson<Record<string, string[]>>('code/tools/final_first_order_rank.json');
    const measured = new Set(parseResultDict(dict).map((k) => canonicalKey(k.sources, k.target)));
    const chainTargets = [
      ...new Set(
        parseResultDict(dict)
          .filter((k) => k.sources.length === 24)
          .map((k) => k.target),
      ),
    ].sort();
    expect(chainTargets.length).toBe(18);
    const chains = generateCandidates(ranking, { minOrder: 5, maxOrder: 4, chains: { from: 5, to: 24 }, exclude: ['class_selected'], targets: chainTargets });
    const missing = chains.filter((c) => !measured.has(c.key));
    // rgb2sfnorm's chains of order 9 and 18 swap two adjacent sources in the file (docs/taskonomy.md#higher-order-candidates).
    expect(missing.map((c) => `${c.target}/${c.order}`)).toEqual(['rgb2sfnorm/9', 'rgb2sfnorm/18']);
  });
});
