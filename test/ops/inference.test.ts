/**
 * Inference where users meet it: the bootstrap file (round trip, reordering, refusals), split support on the
 * taxonomy (tree nodes, Newick labels, `taxonomy --support`), the report's figures, and the CLI flags of
 * `taskmap similarity` (files written, permutation output, usage errors).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFeatureSet } from '../../src/features/featureSet.js';
import type { FeatureSet } from '../../src/features/types.js';
import { readLabelledMatrix } from '../../src/io/labelledMatrix.js';
import type { LabelledMatrix } from '../../src/linalg/labelled.js';
import {
  bootstrapFromJson,
  bootstrapOfSet,
  bootstrapToJson,
  drawsFor,
  intervalsJson,
  permutationJson,
  permutationTestOfSet,
  withBootstrap,
} from '../../src/ops/inference.js';
import { familyTaxonomy, taxonomyOfMatrix } from '../../src/ops/taxonomy.js';
import { dendrogramSvg, intervalHeatmapSvg } from '../../src/report/figures.js';
import { renderReport, type ReportData } from '../../src/report/html.js';
import { taxonomyJson } from '../../src/report/taxonomy.js';
import { toNewick, toTree, type Dendrogram } from '../../src/taxonomy/cluster.js';
import { bootstrapSplitSupport } from '../../src/taxonomy/inference.js';
import { runCli } from '../helpers/cli.js';

const FIXTURE = new URL('../fixtures/reference/', import.meta.url).pathname;
let set: FeatureSet;
let tmp: string;

beforeAll(async () => {
  set = await loadFeatureSet(FIXTURE);
  tmp = await mkdtemp(join(tmpdir(), 'taskmap-inference-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** The same matrix with its rows and columns in another order. */
function reordered(m: LabelledMatrix, order: number[]): LabelledMatrix {
  const k = m.rows.length;
  const data = new Float64Array(k * k);
  order.forEach((i, a) => order.forEach((j, b) => (data[a * k + b] = m.matrix.data[i * k + j])));
  return { rows: order.map((i) => m.rows[i]), cols: order.map((i) => m.rows[i]), matrix: { rows: k, cols: k, data }, measure: m.measure };
}

describe('bootstrap file and split support on a taxonomy', () => {
  it('round-trips through JSON, reorders to the matrix, and gives the support of bootstrapSplitSupport', async () => {
    const { bootstrap: b, measure } = await bootstrapOfSet(set, 'rsa', { draws: 8, subset: 24, seed: 5 });
    expect(measure.id).toBe('rsa');
    const file = bootstrapFromJson(JSON.parse(JSON.stringify(bootstrapToJson(b, true))), 'b.json');
    expect(file.labels).toEqual(b.labels);
    expect(Array.from(file.draws)).toEqual(Array.from(b.matrices));
    expect(file.resampling).toEqual(b.resampling);

    const expected = bootstrapSplitSupport(b.point, b.matrices, { linkage: 'complete' });
    const direct = taxonomyOfMatrix(b.point, { linkage: 'complete', draws: drawsFor(b.point, file, { matrix: 'm', bootstrap: 'b' }) }).taxonomy;
    expect(direct.support).toEqual(expected.support);
    // The same matrix in another order: the draws follow it, and each cluster keeps its support.
    const order = [3, 1, 4, 0, 2];
    const moved = reordered(b.point, order);
    const t = taxonomyOfMatrix(moved, { linkage: 'complete', draws: drawsFor(moved, file, { matrix: 'm', bootstrap: 'b' }) }).taxonomy;
    const key = (tax: typeof t) => tax.merges.map((_, i) => tax.support![i]).join(',');
    expect(key(t)).toBe(key(direct));
    expect(t.tree.support).toBe(1);
    expect(t.newick).toMatch(/\)1;$/);
  });

  it('refuses another measure, other models and files that are not bootstraps', async () => {
    const { bootstrap: b } = await bootstrapOfSet(set, 'cka', { draws: 2, subset: 20 });
    const file = bootstrapFromJson(bootstrapToJson(b, true), 'b.json');
    expect(() => drawsFor({ ...b.point, measure: 'rsa' }, file, { matrix: 'sim.json', bootstrap: 'b.json' })).toThrow(
      /b.json is a bootstrap of cka, but sim.json holds rsa/,
    );
    const fewer: LabelledMatrix = { rows: b.labels.slice(0, 4), cols: b.labels.slice(0, 4), matrix: { rows: 4, cols: 4, data: new Float64Array(16) } };
    expect(() => drawsFor(fewer, file, { matrix: 'sim.json', bootstrap: 'b.json' })).toThrow(/not of the same models: m4_small only in b.json/);
    expect(() => bootstrapFromJson({ rows: [], matrix: [] }, 'x.json')).toThrow(/x.json: not a bootstrap file/);
    const json = bootstrapToJson(b, true);
    expect(() => bootstrapFromJson({ ...json, version: 2 }, 'x.json')).toThrow(/version 2 is not supported/);
    expect(() => bootstrapFromJson({ ...json, draws: [[[1]]] }, 'x.json')).toThrow(/"draws\[0\]" must be 5 rows of 5 numbers/);
    const bad = JSON.parse(JSON.stringify(json));
    bad.draws[1][2][3] = 'x';
    expect(() => bootstrapFromJson(bad, 'x.json')).toThrow(/"draws\[1\]" \[2\]\[3\] is "x", not a finite number/);
  });

  it('Newick and tree JSON carry the support of each inner node', () => {
    const d: Dendrogram = {
      labels: ['a', 'b', 'c'],
      linkage: 'average',
      merges: [
        { a: 0, b: 1, distance: 0.5, size: 2 },
        { a: 2, b: 3, distance: 1, size: 3 },
      ],
    };
    expect(toNewick(d, [0.8333333, 1])).toBe('(c:1,(a:0.5,b:0.5)0.833:0.5)1;');
    expect(toNewick(d)).toBe('(c:1,(a:0.5,b:0.5):0.5);');
    expect(toTree(d, [0.25, 1]).children![1].support).toBe(0.25);
    expect(toTree(d).support).toBeUndefined();
    expect(() => toNewick(d, [1])).toThrow(/1 values for 2 merges/);
  });
});

describe('the report', () => {
  it('labels the dendrogram with split support and draws the interval-width heatmap', async () => {
    const { bootstrap: b } = await bootstrapOfSet(set, 'rsa', { draws: 6, subset: 24, seed: 2 });
    const families = ['g', 'r', 'g', 'o', 's'];
    const plain = familyTaxonomy(b.point, families, 'RSA');
    expect(intervalHeatmapSvg(plain)).toBeNull();
    expect(dendrogramSvg(plain)).not.toContain('data-support');
    const t = withBootstrap(plain, b);
    const svg = dendrogramSvg(t);
    // Every inner merge but the root is labelled, with the percentage of its support.
    const labels = [...svg.matchAll(/data-support="([^"]+)">(\d+)</g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(labels.length).toBe(3);
    labels.forEach(([s, pct], i) => {
      expect(s).toBe(t.bootstrap!.support[i]);
      expect(pct).toBe(Math.round(100 * s));
    });
    expect(svg).toContain('split support (%) over 6 bootstrap draws of 24 images');
    const heat = intervalHeatmapSvg(t)!;
    expect(heat).toContain('95% interval width');
    const w = b.upper.data[1] - b.lower.data[1];
    expect(w).toBeGreaterThan(0);
    expect(heat).toContain(`[${b.lower.data[1].toFixed(3)}, ${b.upper.data[1].toFixed(3)}]`);
    const json = taxonomyJson(t) as ReturnType<typeof taxonomyJson> & { bootstrap: { support: number[]; lower: number[][] } };
    expect(json.bootstrap.support).toEqual(t.bootstrap!.support);
    expect(json.bootstrap.lower[0][1]).toBe(b.lower.data[1]);
    expect(json.newick).toMatch(/\)1;$/);
    expect(() => withBootstrap(familyTaxonomy(reordered(b.point, [1, 0, 2, 3, 4]), families, 'RSA'), b)).toThrow(/not of the taxonomy's matrix/);
  });

  it('the HTML report shows the interval heatmap and the support numbers only for a bootstrapped taxonomy', async () => {
    const { bootstrap: b } = await bootstrapOfSet(set, 'cka', { draws: 4, subset: 20, seed: 8 });
    const families = ['g', 'r', 'g', 'o', 's'];
    const data = (t: ReturnType<typeof familyTaxonomy>): ReportData => ({
      title: 't',
      created: 'now',
      images: { dir: 'x', count: 40, description: 'fixture' },
      models: [],
      failed: [],
      taxonomies: [t],
      timings: {},
      files: [],
    });
    const plain = renderReport(data(familyTaxonomy(b.point, families, 'CKA')));
    expect(plain).not.toContain('data-bootstrap');
    expect(plain).not.toContain('data-support');
    const html = renderReport(data(withBootstrap(familyTaxonomy(b.point, families, 'CKA'), b)));
    expect(html).toMatch(/<p class="muted" data-bootstrap>Upper − lower 95% percentile of each similarity over 4 bootstrap draws of 20 images \(seed 8\)/);
    expect(html).toContain('95% interval width</text>');
    expect((html.match(/data-support=/g) ?? []).length).toBe(3);
  });

  it('serves intervals as labelled matrices and a permutation test as plain JSON', async () => {
    const { bootstrap: b } = await bootstrapOfSet(set, 'cka', { draws: 3, subset: 30 });
    const iv = intervalsJson(b);
    expect(iv.lower.rows).toEqual(b.labels);
    expect(iv.upper.matrix[0][1]).toBe(b.upper.data[1]);
    const { test } = await permutationTestOfSet(set, 'cka', 'm0_gauss', 'm2_mix', { permutations: 5, seed: 1 });
    const j = permutationJson(test);
    expect(j.null).toHaveLength(5);
    expect(JSON.parse(JSON.stringify(j)).pValue).toBe(test.pValue);
  });
});

describe('CLI', () => {
  it('similarity --bootstrap writes the point, lower, upper matrices and the bootstrap file; taxonomy --support reads it', async () => {
    const out = join(tmp, 'sim.json');
    const r = await runCli('similarity', FIXTURE, '--measure', 'cka', '--bootstrap', '6', '--subset', '20', '--seed', '4', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/6 draws of 20 of 40 images \(seed 4\)/);
    const { bootstrap: b } = await bootstrapOfSet(set, 'cka', { draws: 6, subset: 20, seed: 4 });
    expect(Array.from((await readLabelledMatrix(out)).matrix.data)).toEqual(Array.from(b.point.matrix.data));
    expect(Array.from((await readLabelledMatrix(join(tmp, 'sim.lower.json'))).matrix.data)).toEqual(Array.from(b.lower.data));
    expect(Array.from((await readLabelledMatrix(join(tmp, 'sim.upper.json'))).matrix.data)).toEqual(Array.from(b.upper.data));

    const tree = join(tmp, 'tree.json');
    const t = await runCli('taxonomy', '--similarity', out, '--support', join(tmp, 'sim.bootstrap.json'), '--out', tree);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(/merge\s+a\s+b\s+distance\s+size\s+support/);
    const json = JSON.parse(await readFile(tree, 'utf8'));
    expect(json.support).toEqual(bootstrapSplitSupport(b.point, b.matrices, { linkage: 'average' }).support);

    const wrong = await runCli('taxonomy', '--similarity', out, '--support', out);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/not a bootstrap file/);
    const aff = await runCli('taxonomy', '--affinities', out, '--support', out);
    expect(aff.err).toMatch(/--support applies to a --similarity or --dissimilarity matrix/);
  });

  it('similarity --pair --permutations prints the p-value and writes JSON', async () => {
    const out = join(tmp, 'perm.json');
    const r = await runCli('similarity', FIXTURE, '--measure', 'rsa', '--pair', 'm0_gauss,m4_small', '--permutations', '19', '--seed', '2', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/rsa: m0_gauss vs m4_small \(shuffling the images of m4_small\), 40 images/);
    expect(r.out).toMatch(/19 permutations \(seed 2\): 0 at least as large as observed → p = 0\.0500/);
    const j = JSON.parse(await readFile(out, 'utf8'));
    expect(j).toMatchObject({ measure: 'rsa', a: 'm0_gauss', b: 'm4_small', permutations: 19, seed: 2, extreme: 0, pValue: 0.05 });
  });

  it.each([
    [['--bootstrap', '0'], /--bootstrap: must be at least 1, got 0/],
    [['--bootstrap', '3', '--subset', '10', '--replacement'], /--subset sizes draws without replacement/],
    [['--subset', '10'], /--subset and --replacement need --bootstrap/],
    [['--bootstrap', '3', '--subset', '41'], /subset must be a whole number from 4 to 39 .*got 41/],
    [['--permutations', '9'], /--permutations needs --pair <a,b>/],
    [['--pair', 'a,b'], /--pair needs --permutations/],
    [['--pair', 'm0_gauss', '--permutations', '9'], /--pair: expected two member labels/],
    [['--pair', 'm0_gauss,nope', '--permutations', '9'], /unknown model "nope"/],
    [['--bootstrap', '2', '--pair', 'a,b', '--permutations', '3'], /separate runs/],
    [['--bootstrap', '2', '--queue', 'redis://localhost:1'], /run in this process, not on --queue workers/],
    [['--pair', 'm0_gauss,m1_relu', '--permutations', '3', '--out', 'x.csv'], /writes the test as JSON/],
  ])('similarity %j is refused', async (args, message) => {
    const r = await runCli('similarity', FIXTURE, '--measure', 'cka', ...(args as string[]));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(message as RegExp);
  });

  it('refuses inference with a Fisher task measure', async () => {
    const r = await runCli('similarity', tmp, '--measure', 'fisher-frechet', '--bootstrap', '3');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/apply to representation measures, not to the task measure fisher-frechet/);
  });
});
