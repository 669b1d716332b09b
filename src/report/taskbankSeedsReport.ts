/**
 * Files of the task bank over several seeds (src/benchmark/taskbankSeeds.ts): seeds.json (the summary) and
 * report.md (each statistic per seed, its mean and sample SD, and per target), beside one full report per seed
 * (taskbankReport.ts) in seed-<n>/.
 */
import { join } from 'node:path';
import type { SeedStat, TaskbankSeedsSummary } from '../benchmark/taskbankSeeds.js';
import { writeFilesAtomic } from '../io/atomic.js';
import { VIA_TRANSFERS_NEIGHBOURS } from '../taskonomy/viaTransfers.js';
import { markdownTable, type Table } from './tables.js';
import { f2, f3, labelScoreCombinations, labelScoreName } from './taskbankReport.js';

/** "0.459 / 0.266 / 0.312" */
const perSeed = (s: SeedStat, f = f3) => s.perSeed.map(f).join(' / ');
/** "0.346 ± 0.099" (mean ± sample SD); "—" where no seed defines the statistic. */
export const meanSd = (s: Pick<SeedStat, 'mean' | 'sd'>, f = f3) => (s.mean === null ? '—' : s.sd === null ? f(s.mean) : `${f(s.mean)} ± ${f(s.sd)}`);

export function seedsTable(s: TaskbankSeedsSummary): Table {
  const seeds = s.seeds.join(' / ');
  return {
    head: [
      'taxonomy',
      `Spearman, self excluded (seeds ${seeds})`,
      'mean ± SD',
      'permutation 95th pct. (mean)',
      `Spearman on the reliable targets (${meanSd(s.reliability.reliableTargets, (x) => (x === null || x === undefined ? '—' : x.toFixed(1)))} per seed), mean ± SD`,
      `ARI of the ${s.families.length}-cluster cut (seeds ${seeds})`,
      'mean ± SD',
      'NN family agreement, mean ± SD',
    ],
    rows: [
      ...s.measures.map((m) => [
        m.measure,
        perSeed(m.spearman),
        meanSd(m.spearman),
        f3(m.null95.mean),
        meanSd(m.spearmanReliable),
        perSeed(m.adjustedRandIndex),
        meanSd(m.adjustedRandIndex),
        meanSd(m.nearestNeighbourAgreement),
      ]),
      ...(s.labelScores ?? []).map((l) => [
        `${labelScoreName(l)} on ${l.labelled} labelled transfer crops (label-based)`,
        perSeed(l.spearman),
        meanSd(l.spearman),
        f3(l.null95.mean),
        meanSd(l.spearmanReliable),
        '—',
        '—',
        '—',
      ]),
      ...(s.labelScores ?? []).flatMap((l) =>
        labelScoreCombinations(l).map((c) => [`${c.name} (ranks summed)`, perSeed(c.spearman), meanSd(c.spearman), '—', '—', '—', '—', '—']),
      ),
      [
        'source prior (other targets’ rankings)',
        perSeed(s.sourcePrior.spearman),
        meanSd(s.sourcePrior.spearman),
        '—',
        meanSd(s.sourcePrior.spearmanReliable),
        '—',
        '—',
        '—',
      ],
      [
        'measured task tree (affinities)',
        '—',
        '—',
        '—',
        '—',
        perSeed(s.tree.adjustedRandIndex),
        meanSd(s.tree.adjustedRandIndex),
        meanSd(s.tree.nearestNeighbourAgreement),
      ],
      ['chance', '0', '0', '', '0', '0', '0', f3(s.chance.nearestNeighbourAgreement)],
    ],
    numeric: [false, true, true, true, true, true, true, true],
  };
}

/** Each measure's mean Spearman through the other targets' transfers per seed, beside its similarity alone and the prior. */
export function seedsViaTransfersTable(s: TaskbankSeedsSummary): Table {
  return {
    head: [
      'weights',
      'similarity alone, mean ± SD',
      `through the other targets’ transfers (seeds ${s.seeds.join(' / ')})`,
      'mean ± SD',
      'weights on shuffled targets: 95th pct. (mean)',
    ],
    rows: [
      ...s.measures
        .filter((m) => m.viaTransfers.mean !== null)
        .map((m) => [`${m.measure} similarity`, meanSd(m.spearman), perSeed(m.viaTransfers), meanSd(m.viaTransfers), f3(m.viaTransfersNull95.mean)]),
      ['equal (the source prior)', '—', perSeed(s.sourcePrior.spearman), meanSd(s.sourcePrior.spearman), '—'],
    ],
    numeric: [false, true, true, true, true],
  };
}

export function seedsPerTargetTable(s: TaskbankSeedsSummary): Table {
  const cell = (x: SeedStat) => `${meanSd(x, f2)} (${perSeed(x, f2)})`;
  const readouts = s.tasks.some((t) => s.reliability.readouts[t].mean !== null);
  return {
    head: [
      'target',
      ...s.measures.map((m) => `${m.measure}: mean ± SD (${s.seeds.join(' / ')})`),
      'source prior',
      ...(s.labelScores ?? []).map((l) => `${labelScoreName(l)} (labels)`),
      'reliability over test photographs',
      ...(readouts ? ['reliability over readout seeds'] : []),
    ],
    rows: s.tasks.map((t) => [
      t,
      ...s.measures.map((m) => cell(m.perTarget[t])),
      cell(s.sourcePrior.perTarget[t]),
      ...(s.labelScores ?? []).map((l) => (l.perTarget[t] ? cell(l.perTarget[t]) : '—')),
      cell(s.reliability.perTarget[t]),
      ...(readouts ? [cell(s.reliability.readouts[t])] : []),
    ]),
    numeric: [false, ...s.measures.map(() => true), true, ...(s.labelScores ?? []).map(() => true), true, ...(readouts ? [true] : [])],
  };
}

export interface TaskbankSeedsReportMeta {
  command: string;
  created?: string;
  /** Per seed: the folder of its full report, relative to the summary's. */
  seedReports: Record<number, string>;
  notes?: string[];
}

export function taskbankSeedsMarkdown(s: TaskbankSeedsSummary, meta: TaskbankSeedsReportMeta): string {
  const lines = [
    `# Task bank over ${s.seeds.length} seeds`,
    '',
    `Reproduce: \`${meta.command}\` (written ${meta.created ?? new Date().toISOString()})`,
    '',
    `Each seed draws its own crops, split of the photographs into the four parts, initialisations and batch orders, and ` +
      `every number after them; a full report per seed: ${s.seeds.map((k) => `[seed ${k}](${meta.seedReports[k]}/report.md)`).join(', ')}. ` +
      'Mean ± sample SD over the seeds; a difference between measures, or against another setting, smaller than these SDs ' +
      'is not a finding.',
    '',
    markdownTable(seedsTable(s)),
    '',
    '## Through the other targets’ transfers',
    '',
    `Each source ranked for a target by its measured ranks on the ${VIA_TRANSFERS_NEIGHBOURS} other targets most similar to it under the measure, weighted by that similarity (the seed reports’ protocol); equal weights over all the other targets give the source prior.`,
    '',
    markdownTable(seedsViaTransfersTable(s)),
    '',
    '## Per-target Spearman (self excluded)',
    '',
    markdownTable(seedsPerTargetTable(s)),
    '',
  ];
  if (meta.notes?.length) lines.push('## Notes', '', ...meta.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}

/** Write seeds.json and report.md into `dir` (the per-seed reports are written by the caller); returns the files. */
export async function writeTaskbankSeedsReport(dir: string, s: TaskbankSeedsSummary, meta: TaskbankSeedsReportMeta): Promise<string[]> {
  const created = meta.created ?? new Date().toISOString();
  const files: Record<string, string> = {
    'seeds.json': `${JSON.stringify({ command: meta.command, created, seedReports: meta.seedReports, summary: s }, null, 1)}\n`,
    'report.md': taskbankSeedsMarkdown(s, { ...meta, created }),
  };
  await writeFilesAtomic(Object.entries(files).map(([rel, data]) => ({ path: join(dir, rel), data })));
  return Object.keys(files);
}
