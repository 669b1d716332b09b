/** The measure catalogue and the use-case layer (src/ops): directions, ids, flags, taxonomy, rank targets, policy. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CATALOGUE,
  canonicalId,
  catalogueEntry,
  describe as describeId,
  directionOf,
  entriesFor,
  isDistance,
  parameterUnion,
  standardIds,
} from '../../src/measures/catalogue.js';
import { FAMILIES } from '../../src/measures/registry.js';
import { PAIRWISE_FAMILIES } from '../../src/measures/pairwiseFamilies.js';
import { TASK_MEASURES } from '../../src/measures/taskMeasures.js';
import { OBJECTIVE_NAMES, parseObjective, POLICY_SOLVERS } from '../../src/ops/policy.js';
import { loadTarget, readTargetLabels, targetFileKind } from '../../src/ops/rank.js';
import { DirectionError, matrixDirection, taxonomyOfMatrix, taxonomyView } from '../../src/ops/taxonomy.js';
import type { LabelledMatrix } from '../../src/linalg/labelled.js';

const LABELS = ['a', 'b', 'c', 'd'];
function matrix(values: number[][], measure?: string): LabelledMatrix {
  return { rows: LABELS, cols: LABELS, matrix: { rows: 4, cols: 4, data: Float64Array.from(values.flat()) }, ...(measure ? { measure } : {}) };
}
const DIST = [
  [0, 0.1, 0.8, 0.9],
  [0.1, 0, 0.9, 0.8],
  [0.8, 0.9, 0, 0.1],
  [0.9, 0.8, 0.1, 0],
];

describe('measure catalogue', () => {
  it('lists every representation family and every task measure, each with an input kind and a direction', () => {
    expect(entriesFor('representations').map((e) => e.family)).toEqual([...FAMILIES.map((f) => f.id), ...PAIRWISE_FAMILIES.map((f) => f.id)]);
    expect(entriesFor('labelled-tasks').map((e) => e.family)).toEqual(TASK_MEASURES.map((f) => f.id));
    for (const e of CATALOGUE) {
      expect(typeof e.largerIsMoreSimilar).toBe('boolean');
      expect(e.taskTypes.length).toBeGreaterThan(0);
      expect(['cheap', 'moderate', 'expensive']).toContain(e.cost.tier);
    }
    expect(new Set(CATALOGUE.map((e) => e.family)).size).toBe(CATALOGUE.length);
  });

  it('answers the direction of any id in one place', () => {
    expect(directionOf('rsa')).toBe('similarity');
    expect(directionOf('dds:norm=znorm,kernel=cosine')).toBe('similarity');
    expect(directionOf('fisher-frechet')).toBe('distance');
    expect(directionOf('fisher-logdet:floor=1e-8,reduce=first-axis')).toBe('distance');
    expect(isDistance('fisher-logdet')).toBe(true);
    expect(isDistance('cka:debiased')).toBe(false);
    // Every transferability score is higher-is-better.
    expect(directionOf('logme')).toBe('similarity');
    expect(directionOf('knn:k=5')).toBe('similarity');
    // Not catalogued (another tool's id, a bad parameter): no answer, the caller decides.
    expect(directionOf('otce')).toBeUndefined();
    expect(directionOf('knn:k=0')).toBeUndefined();
    expect(directionOf('fisher-logdet:floor=-1')).toBeUndefined();
    expect(directionOf(undefined)).toBeUndefined();
  });

  it('canonicalises and describes ids of both kinds', () => {
    expect(canonicalId('rsa:rdm=correlation')).toBe('rsa');
    expect(canonicalId('fisher-logdet:floor=1e-10')).toBe('fisher-logdet');
    expect(describeId('fisher-frechet')).toMatchObject({ id: 'fisher-frechet', input: 'labelled-tasks', largerIsMoreSimilar: false, invariances: [] });
    expect(describeId('dds:norm=znorm,kernel=cosine').invariances).toContain('per-feature-affine');
    expect(() => catalogueEntry('fisher-logdet', 'representations')).toThrow(/unknown measure "fisher-logdet" \(known: rsa, dds, cka, procrustes, /);
    expect(() => canonicalId('nope')).toThrow(/unknown measure "nope"/);
    expect(standardIds('labelled-tasks')).toEqual(['fisher-logdet', 'fisher-frechet']);
  });

  it('unites the parameters of a kind for per-parameter flags (the CLI flags of similarity and rank)', () => {
    const names = parameterUnion('representations').map((p) => p.name);
    const batched = ['centering', 'compare', 'debiased', 'groups', 'kernel', 'layout', 'norm', 'rdm', 'shape', 't'];
    const pairwise = PAIRWISE_FAMILIES.flatMap((f) => f.params.map((p) => p.name));
    expect(names.sort()).toEqual([...new Set([...batched, ...pairwise])].sort());
    const kernel = parameterUnion('representations').find((p) => p.name === 'kernel')!;
    expect(kernel.families.map((f) => f.family)).toEqual(['dds', 'cka']);
  });
});

describe('ops/taxonomy', () => {
  it('reads a Fisher distance matrix as a distance (the server bug) and a plain matrix as a similarity', () => {
    const fisher = taxonomyView(matrix(DIST, 'fisher-frechet'), { linkage: 'average', clusters: 2 });
    expect(fisher.distance).toBe('given');
    expect(fisher.clusters.a).toBe(fisher.clusters.b);
    expect(fisher.clusters.c).toBe(fisher.clusters.d);
    expect(fisher.clusters.a).not.toBe(fisher.clusters.c);
    const plain = taxonomyView(matrix(DIST), { linkage: 'average', clusters: 2 });
    expect(plain.distance).toBe('1 - similarity');
    expect(plain.clusters.a).toBe(plain.clusters.d);
  });

  it('refuses a catalogued distance stated as a similarity, and takes the stated direction otherwise', () => {
    expect(() => matrixDirection('fisher-logdet', 'similarity')).toThrow(DirectionError);
    expect(matrixDirection('rsa', 'distance')).toBe('distance');
    expect(matrixDirection('other-tool', 'similarity')).toBe('similarity');
    expect(matrixDirection(undefined)).toBe('similarity');
  });

  it('cuts only when asked unless the default cut is on; MDS only when asked', () => {
    const { taxonomy } = taxonomyOfMatrix(matrix(DIST, 'fisher-frechet'), { linkage: 'average' });
    expect(taxonomy.clusters).toBeUndefined();
    expect(taxonomy.mds).toBeUndefined();
    const view = taxonomyView(matrix(DIST, 'fisher-frechet'), { linkage: 'average' });
    expect(view.k).toBe(3);
    expect(Object.keys(view.mds.coords)).toEqual(LABELS);
  });
});

describe('ops/rank targets', () => {
  it('reads a labels file (header row recognised by the count) and classifies target files by extension', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'taskmap-ops-'));
    try {
      await writeFile(join(dir, 'l.csv'), 'image,label\nx.jpg,cat\ny.jpg,dog\nz.jpg,cat\n');
      expect(await readTargetLabels(join(dir, 'l.csv'), 3)).toEqual(['cat', 'dog', 'cat']);
      await expect(readTargetLabels(join(dir, 'l.csv'), 5, 'labels.csv')).rejects.toThrow(/labels\.csv: 4 rows, but the feature set has 5 images/);
      const t = await loadTarget({ kind: 'labels-file', path: join(dir, 'l.csv'), name: 'l.csv', labelKind: 'regression' }, 3);
      expect(t).toMatchObject({ kind: 'labels', labelKind: 'regression', label: 'l.csv' });
      expect(targetFileKind('f.NPY')).toBe('representation-file');
      expect(targetFileKind('l.txt')).toBe('labels-file');
      expect(targetFileKind('m.json')).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('ops/policy lists', () => {
  it('every objective name the shells offer is accepted by the library, and auto is a solver', () => {
    for (const name of OBJECTIVE_NAMES) expect(() => parseObjective(name)).not.toThrow();
    expect(POLICY_SOLVERS).toContain('auto');
  });
});
