import { describe, expect, it } from 'vitest';
import { fromRows } from '../../src/linalg/dense.js';
import { dendrogramSvg, heatmapSvg, mdsSvg, svgToPng } from '../../src/report/figures.js';
import { renderReport } from '../../src/report/html.js';
import { buildTaxonomy, taxonomyJson } from '../../src/report/taxonomy.js';

const labels = ['pose-a', 'pose-b', 'face-a', 'face-b', 'text<&>'];
const families = ['pose', 'pose', 'face', 'face', 'text'];
const sim = {
  rows: labels,
  cols: labels,
  measure: 'rsa',
  matrix: fromRows([
    [1, 0.8, 0.2, 0.1, 0.05],
    [0.8, 1, 0.15, 0.2, 0.1],
    [0.2, 0.15, 1, 0.7, 0.0],
    [0.1, 0.2, 0.7, 1, 0.05],
    [0.05, 0.1, 0.0, 0.05, 1],
  ]),
};

describe('taxonomy report', () => {
  const t = buildTaxonomy(sim, families, 'Representational similarity analysis', 'RSA description');

  it('builds the tree, top-3 lists and family recovery', () => {
    // Leaf order keeps each tight pair together.
    const pos = (l: string) => t.order.indexOf(labels.indexOf(l));
    expect(Math.abs(pos('pose-a') - pos('pose-b'))).toBe(1);
    expect(Math.abs(pos('face-a') - pos('face-b'))).toBe(1);
    expect(t.top[0].similar.map((s) => s.label)).toEqual(['pose-b', 'face-a', 'face-b']);
    expect(t.neighbours.agreement).toBeCloseTo(0.8, 12); // text has no family mate
    expect(t.cut.k).toBe(3);
    expect(t.cut.ari).toBe(1);
    const j = taxonomyJson(t);
    expect(j.familyRecovery).toMatchObject({ adjustedRandIndex: 1, k: 3 });
    expect(j.newick.endsWith(';')).toBe(true);
  });

  it('renders a self-contained HTML page with every section and no network references', () => {
    const html = renderReport({
      title: 'taskmap — test',
      created: '2026-01-01T00:00:00Z',
      images: { dir: '/probe', count: 106, description: 'test images' },
      models: labels.map((l, i) => ({ label: l, family: families[i], layer: 'conv/Relu', reduce: 'pool:4', features: [4, 4, 8], source: 'pkg@1/x.json' })),
      failed: [{ model: 'broken-model', error: 'BatchMatMul for non float32 tensors not yet supported' }],
      taxonomies: [t],
      timings: { extraction: 1.5 },
      files: ['similarity-rsa.json'],
      familyDescriptions: { pose: 'body pose', face: 'faces', text: 'OCR' },
    });
    for (const section of ['id="recovery"', 'id="measure-0"', 'id="models"', 'id="files"', 'id="method"', 'Task tree', 'MDS', 'most similar'])
      expect(html).toContain(section);
    expect(html).toContain('broken-model');
    expect(html).toContain('text&lt;&amp;&gt;');
    expect(html).not.toContain('text<&>');
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(/i);
    // Hover values on heatmap cells.
    expect(html).toContain('<title>pose-a × pose-b: 0.800</title>');
    expect((html.match(/<svg /g) ?? []).length).toBe(3);
  });

  it('figures are valid SVG and rasterise to PNG', async () => {
    for (const s of [heatmapSvg(t), dendrogramSvg(t), mdsSvg(t)]) {
      expect(s.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      const png = await svgToPng(s, 72);
      expect(Array.from(png.subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    }
  });
});
