import type { Command } from 'commander';
import { writeFilesAtomic, type OutputFile } from '../../io/atomic.js';
import { ahp, AHP_CLIP, tournamentsFromText, tournamentsToJson } from '../../ops/ahp.js';
import { formatTable } from '../table.js';
import { parseList, UsageError } from '../util.js';
import { readInputText } from '../../io/input.js';

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

export function register(program: Command): void {
  program
    .command('ahp')
    .summary('Taskonomy affinities from transfer results (win rates + AHP)')
    .description(
      [
        'Turn measured transfer results into Taskonomy affinities (AHP). Per',
        'target, the tournament W[i][j] = fraction of test images on which',
        'candidate transfer i beats j is clipped to [0.001, 0.999]; the',
        'affinities are the principal eigenvector of W ⊘ Wᵀ, summing to 1.',
        '',
        'Input, one of:',
        '  --losses losses.csv  per-image losses with header',
        '                       "target,source,image,loss" (lower is better; a',
        '                       higher-order source is written a__b; pseudo-',
        '                       sources self, random, pixels). Ties count half.',
        '                       Every source of a target needs a loss for every',
        '                       image of that target.',
        '  --wins wins.json     {"<target>": {"sources": [...], "wins": [[...]]}}',
        '',
        'Output: a Taskonomy result dict {"src__target": affinity} (JSON).',
        'Printed per target: λmax, the consistency index CI = (λmax − m)/(m − 1)',
        "and ratio CR = CI/RI(m) (Saaty's random index; Alonso–Lamata beyond",
        "m = 15). Taskonomy ratios exceed Saaty's 1–9 scale, so compare CRs",
        'between targets rather than against the usual 0.1.',
      ].join('\n'),
    )
    .option('--wins <file.json>', 'per-target tournament matrices')
    .option('--losses <file.csv>', 'per-image losses (target,source,image,loss)')
    .requiredOption('-o, --out <file.json>', 'write the affinities {"src__target": p} here')
    .option('--clip <lo,hi>', 'clip range for the win fractions', `${AHP_CLIP[0]},${AHP_CLIP[1]}`)
    .option('--exclude <a,b,...>', 'candidates left out of the AHP (pixels is a baseline, not a transfer)', 'pixels')
    .option('--consistency-out <file.json>', 'write the per-target consistency diagnostics here')
    .option('--tournaments-out <file.json>', 'write the tournament matrices here (the --wins format)')
    .option('--gain-out <file.json>', "write each candidate's win rate vs pixels (Gain, like wins_vs_pixels) here")
    .option('--quality-out <file.json>', "write each candidate's win rate vs self (Quality, like wins_vs_task) here")
    .action(
      async (o: {
        wins?: string;
        losses?: string;
        out: string;
        clip: string;
        exclude: string;
        consistencyOut?: string;
        tournamentsOut?: string;
        gainOut?: string;
        qualityOut?: string;
      }) => {
        if (Boolean(o.wins) === Boolean(o.losses)) throw new UsageError('give exactly one of --wins <file.json> or --losses <file.csv>');
        const clip = parseList(o.clip)!.map(Number);
        if (clip.length !== 2 || !clip.every(Number.isFinite)) throw new UsageError(`--clip: expected "lo,hi", got "${o.clip}"`);
        const tournaments = o.losses
          ? tournamentsFromText(await readInputText(o.losses, 'a losses CSV'), 'losses', o.losses)
          : tournamentsFromText(await readInputText(o.wins!, 'a tournaments JSON'), 'wins', o.wins!);
        const gq = ahp(tournaments, { clip: [clip[0], clip[1]], exclude: parseList(o.exclude) ?? [] });
        const { affinities, consistency } = gq;
        // All outputs are one commit: a bad --consistency-out path must not leave --out already replaced.
        const outputs: OutputFile[] = [{ path: o.out, data: json(affinities) }];
        if (o.consistencyOut) outputs.push({ path: o.consistencyOut, data: json(consistency) });
        if (o.tournamentsOut) outputs.push({ path: o.tournamentsOut, data: json(tournamentsToJson(tournaments)) });
        if (o.gainOut || o.qualityOut) {
          if (o.gainOut) outputs.push({ path: o.gainOut, data: json(gq.winsVsPixels) });
          if (o.qualityOut) outputs.push({ path: o.qualityOut, data: json(gq.winsVsTask) });
          if (o.gainOut && gq.missingPixels.length) process.stderr.write(`no "pixels" candidate (no Gain) for: ${gq.missingPixels.join(', ')}\n`);
          if (o.qualityOut && gq.missingSelf.length) process.stderr.write(`no "self" candidate (no Quality) for: ${gq.missingSelf.join(', ')}\n`);
        }
        await writeFilesAtomic(outputs);
        const rows = consistency.map((c) => [c.target, String(c.candidates), c.lambdaMax, c.consistencyIndex, c.consistencyRatio]);
        process.stdout.write(`${formatTable(['target', 'candidates', 'λmax', 'CI', 'CR'], rows, 4)}\n`);
        process.stdout.write(`wrote ${Object.keys(affinities).length} affinities for ${consistency.length} targets to ${o.out}\n`);
      },
    );
}
