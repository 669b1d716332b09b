/** `taskmap measures`: the transferability scores are listed from the catalogue, with their requirements. */
import { describe, expect, it } from 'vitest';
import { idSyntax, CATALOGUE } from '../../src/measures/catalogue.js';
import { SCORE_FAMILIES, standardScoreIds } from '../../src/measures/scoreFamilies.js';
import { standardRankMeasures } from '../../src/taxonomy/rankTable.js';
import { runCli } from '../helpers/cli.js';

describe('taskmap measures lists the scores', () => {
  it('text: every score family with its id grammar, input, target types, per-class minimum, cost and parameters', async () => {
    const r = await runCli('measures');
    expect(r.code, r.err).toBe(0);
    const section = r.out.slice(r.out.indexOf('Transferability scores'));
    expect(section.split('\n')[0]).toMatch(/^Transferability scores \(labelled targets: `taskmap rank <features> --target labels\.csv --measure <id>`/);
    for (const f of SCORE_FAMILIES) {
      const entry = CATALOGUE.find((e) => e.family === f.id)!;
      const block = section.slice(section.indexOf(`\n${idSyntax(entry)} — ${f.name}\n`));
      expect(block.length, f.id).toBeLessThan(section.length);
      const lines = block.split('\n').slice(2, 6 + f.params.length);
      expect(lines[0]).toBe(`  ${f.description}`);
      expect(lines[1]).toBe(
        f.input === 'labels'
          ? "  input: the candidate's features on the target images + the target labels"
          : "  input: the source model's class probabilities on the target images + the target labels (rank --probabilities)",
      );
      const perClass = f.minPerClass > 1 ? ` · at least ${f.minPerClass} images per class` : '';
      expect(lines[2]).toBe(`  targets: ${f.taskTypes.join(', ')}${perClass} · cost: ${f.cost.tier} (${f.cost.scaling})`);
      expect(lines[3]).toBe(`  reference: ${f.reference}`);
      f.params.forEach((p, k) => expect(lines[4 + k]).toMatch(new RegExp(`^    ${p.name}\\b.*\\(default ${String(p.default)}\\): `)));
    }
    expect(r.out).toContain('\nlogme[:solver=fixed-point|icml] — LogME (log maximum evidence)\n');
    expect(r.out).toContain('targets: classification · at least 2 images per class · cost: cheap');
    expect(r.out).toContain(`Standard score ids: ${standardScoreIds().join(', ')}`);
    expect(r.out).toContain(`\`rank --measure all\` columns (class target): ${standardRankMeasures().join(', ')}`);
  });

  it('--json: the score records, the standard score ids and the table columns beside the catalogue', async () => {
    const r = await runCli('measures', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.scores.map((s: { family: string }) => s.family)).toEqual(SCORE_FAMILIES.map((f) => f.id));
    expect(j.scores[0]).toMatchObject({
      family: 'logme',
      input: 'labels',
      taskTypes: ['classification', 'regression'],
      minPerClass: 1,
      syntax: 'logme[:solver=fixed-point|icml]',
    });
    expect(j.scores.find((s: { family: string }) => s.family === 'leep')).toMatchObject({ input: 'source-probabilities', taskTypes: ['classification'] });
    expect(j.standardScores).toEqual(standardScoreIds());
    expect(j.rankAll).toEqual(standardRankMeasures());
    expect(j.catalogue.filter((e: { input: string }) => e.input === 'labels' || e.input === 'source-probabilities')).toHaveLength(SCORE_FAMILIES.length);
  });
});
