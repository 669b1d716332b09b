import type { Command } from 'commander';
import { DEFAULT_CROP_COUNTS, DEFAULT_RESOLUTION, ensureCropPool, POOL_PRESETS, POOL_SPLITS, SPLIT_HELP, type PoolPreset } from '../../taskbank/pool.js';
import { TASKS } from '../../taskbank/tasks.js';
import { formatTable } from '../table.js';
import { collect, parseKeyNumbersIn, parseList, parseNumber, UsageError } from '../util.js';

export function register(program: Command): void {
  const bank = program
    .command('taskbank')
    .summary('the task bank: its image pool of Debian photographs and its tasks (training and transfers: benchmark taskbank)')
    .description(
      [
        'The task bank (docs/taskbank.md): one encoder architecture trained on many tasks over one image pool,',
        'so that a similarity between its networks reflects the task alone. Here: the image pool (seeded crops of real',
        'photographs, split train / transfer / test / probe by photograph) and the task targets; `taskmap benchmark',
        'taskbank` trains the bank, measures its transfers and judges the similarity measures against them.',
      ].join('\n'),
    );
  bank
    .command('images')
    .description('gather the photographs (apt-get download, nothing installed) and cut the seeded crop pool; cached in $TASKMAP_CACHE/taskbank')
    .option(
      '--preset <name>',
      `photographs: ${POOL_PRESETS.join(' | ')} (default: the curated probe set + wallpaper photographs; large: + 10 Plasma photographs, 94 MB more; small: wallpapers only, 16 MB)`,
      'default',
    )
    .option('--folders <dirs>', 'comma-separated folders of your own photographs instead of the packages')
    .option('--resolution <px>', 'crop side in pixels', String(DEFAULT_RESOLUTION))
    .option('--seed <n>', 'seed of the split and the crops', '0')
    .option('--crops <part=n>', `crops of a part (repeatable; default ${POOL_SPLITS.map((p) => `${p}=${DEFAULT_CROP_COUNTS[p]}`).join(' ')})`, collect, [])
    .option('--split <part=w>', SPLIT_HELP, collect, [])
    .option('--debs <dir>', 'use these already-downloaded .deb files instead of apt-get download')
    .option('--json', 'machine-readable summary')
    .action(
      async (o: { preset: string; folders?: string; resolution: string; seed: string; crops: string[]; split: string[]; debs?: string; json?: boolean }) => {
        if (!POOL_PRESETS.includes(o.preset as PoolPreset)) throw new UsageError(`--preset: use ${POOL_PRESETS.join(' or ')}, got "${o.preset}"`);
        const counts = parseKeyNumbersIn(o.crops, '--crops', POOL_SPLITS, 'part');
        const fractions = parseKeyNumbersIn(o.split, '--split', POOL_SPLITS, 'part');
        const pool = await ensureCropPool({
          preset: o.preset as PoolPreset,
          folders: parseList(o.folders, '--folders'),
          resolution: parseNumber(o.resolution, '--resolution', { integer: true, min: 8 }),
          seed: parseNumber(o.seed, '--seed', { integer: true, min: 0 }),
          counts,
          fractions,
          apt: o.debs ? { debs: o.debs } : undefined,
          log: (m) => process.stderr.write(`${m}\n`),
        });
        const m = pool.manifest;
        const parts = POOL_SPLITS.map((p) => ({ part: p, photos: m.photos.filter((x) => x.split === p).length, crops: m.crops[p].length }));
        if (o.json) {
          process.stdout.write(
            `${JSON.stringify({ dir: pool.dir, photosDir: m.photosDir, resolution: m.resolution, seed: m.seed, parts, skipped: m.skipped, packages: m.packages }, null, 1)}\n`,
          );
          return;
        }
        const lines = [
          `${m.photos.length} photographs, ${parts.reduce((s, p) => s + p.crops, 0)} crops of ${m.resolution}×${m.resolution} (seed ${m.seed}) in ${pool.dir}`,
          formatTable(
            ['part', 'photographs', 'crops'],
            parts.map((p) => [p.part, String(p.photos), String(p.crops)]),
          ),
        ];
        if (m.skipped.length) lines.push(`left out (smaller than ${m.resolution} px): ${m.skipped.join(', ')}`);
        if (m.packages.length)
          lines.push(`sources: ${m.packages.map((p) => `${p.name} ${p.version}${p.copyright ? ` (licence: ${p.copyright})` : ''}`).join('; ')}`);
        lines.push(`photographs and licences: ${m.photosDir}`);
        process.stdout.write(`${lines.join('\n')}\n`);
      },
    );
  bank
    .command('tasks')
    .description('list the tasks: family, loss, target shape and how the target is built')
    .option('--resolution <px>', 'crop side the target shapes are given for', String(DEFAULT_RESOLUTION))
    .option('--json', 'machine-readable output')
    .action((o: { resolution: string; json?: boolean }) => {
      const r = parseNumber(o.resolution, '--resolution', { integer: true, min: 8 });
      const rows = TASKS.map((t) => ({
        id: t.id,
        family: t.family,
        loss: t.loss,
        target: t.targetShape(r),
        source: t.kind === 'teacher' ? `teacher ${t.teacher}` : 'pixels',
        description: t.description,
      }));
      if (o.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
        return;
      }
      process.stdout.write(
        `${formatTable(
          ['task', 'family', 'loss', 'target', 'from', 'target builder'],
          rows.map((t) => [t.id, t.family, t.loss, t.target.join('×'), t.source, t.description]),
        )}\n${TASKS.length} tasks; every network sees an RGB crop of ${r}×${r} in [0, 1]\n`,
      );
    });
}
