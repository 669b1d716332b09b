import type { Command } from 'commander';
import { writeFileAtomic } from '../../io/atomic.js';
import { readResultDict } from '../../io/resultDict.js';
import { generateCandidates, markMeasured, rankingFromAffinities, type Candidate } from '../../taskonomy/candidates.js';
import { collect, parseKeyNumbers, parseList, parseNumber, UsageError } from '../util.js';
import { readInputText } from '../../io/input.js';

export function register(program: Command): void {
  program
    .command('candidates')
    .summary('higher-order transfers to train next (Taskonomy candidate generation)')
    .description(
      [
        'List the higher-order transfer candidates of each target, as Taskonomy',
        'generated them: every k-subset (min order ≤ k ≤ --max-order) of the',
        "target's top --top first-order sources, optionally plus one chain (the",
        'top-k sources) for each k in --chains. Taskonomy used the top 5 for',
        'orders 2–3, the top 6 for order 4 (--top-for 4=6), and chains for',
        'orders 5–24 with class_selected skipped.',
        '',
        'The ranking comes from --ranking (JSON {"<target>": [source, ...]}, best',
        "first, e.g. Taskonomy's ranked_first_order_transfers.json) or from the",
        'first-order affinities (--affinities; the target itself, self and',
        'pixels are never ranked). With --affinities, candidates that are',
        'already measured are marked.',
      ].join('\n'),
    )
    .option('-a, --affinities <file>', 'affinities result dict (.json or .pkl)')
    .option('--ranking <file.json>', 'per-target first-order ranking, best first')
    .option('--targets <a,b,...>', 'targets to generate for (default: all)')
    .option('--top <b>', 'draw subsets from the top-b first-order sources', '5')
    .option('--top-for <order=b>', 'per-order override of --top, e.g. 4=6 (repeatable)', collect)
    .option('-k, --max-order <k>', 'largest subset size', '2')
    .option('--min-order <k>', 'smallest subset size (1 lists the top-b sources themselves)', '2')
    .option('--chains <from-to>', 'also one chain (the top-k sources) for each order k in from..to, e.g. 5-24')
    .option('--exclude <a,b,...>', 'sources dropped from the ranking first')
    .option('--missing-only', 'with --affinities: list only candidates not yet measured')
    .option('-o, --out <file.json>', 'write the candidates as JSON here')
    .action(
      async (o: {
        affinities?: string;
        ranking?: string;
        targets?: string;
        top: string;
        topFor?: string[];
        maxOrder: string;
        minOrder: string;
        chains?: string;
        exclude?: string;
        missingOnly?: boolean;
        out?: string;
      }) => {
        if (!o.affinities && !o.ranking) throw new UsageError('give --affinities <file> or --ranking <file.json>');
        if (o.missingOnly && !o.affinities) throw new UsageError('--missing-only needs --affinities');
        const targets = parseList(o.targets, '--targets');
        const affinities = o.affinities ? await readResultDict(o.affinities) : undefined;
        // With --affinities, an unknown target is reported against the affinities (the file given), not as
        // "no first-order ranking", which named --ranking although no ranking file was given.
        const ranking = o.ranking ? await readRanking(o.ranking) : rankingFromAffinities(affinities!, { targets });
        const topForOrder: Record<number, number> = {};
        for (const [k, b] of Object.entries(parseKeyNumbers(o.topFor, '--top-for'))) {
          topForOrder[parseNumber(k, '--top-for order', { integer: true, min: 1 })] = parseNumber(String(b), '--top-for size', { integer: true, min: 1 });
        }
        let chains: { from: number; to: number } | undefined;
        if (o.chains) {
          const m = /^(\d+)-(\d+)$/.exec(o.chains.trim());
          if (!m) throw new UsageError(`--chains: expected "from-to" such as 5-24, got "${o.chains}"`);
          chains = { from: Number(m[1]), to: Number(m[2]) };
          if (chains.from < 1 || chains.to < chains.from) throw new UsageError(`--chains: expected 1 ≤ from ≤ to, got "${o.chains}"`);
        }
        const maxOrder = parseNumber(o.maxOrder, '--max-order', { integer: true, min: 1 });
        const minOrder = parseNumber(o.minOrder, '--min-order', { integer: true, min: 1 });
        if (minOrder > maxOrder) throw new UsageError(`--min-order ${minOrder} is above --max-order ${maxOrder}: no order to generate`);
        let list: Candidate[] = generateCandidates(ranking, {
          top: parseNumber(o.top, '--top', { integer: true, min: 1 }),
          topForOrder,
          maxOrder,
          minOrder,
          chains,
          targets,
          exclude: parseList(o.exclude),
        });
        if (affinities) list = markMeasured(list, affinities);
        if (o.missingOnly) list = list.filter((c) => !c.measured);
        const byTarget = new Map<string, Candidate[]>();
        for (const c of list) byTarget.set(c.target, [...(byTarget.get(c.target) ?? []), c]);
        for (const [t, cs] of byTarget) {
          const measured = cs.filter((c) => c.measured).length;
          process.stdout.write(`${t}: ${cs.length} candidates${affinities ? ` (${measured} measured)` : ''}\n`);
          for (const c of cs) process.stdout.write(`  ${c.sources.join(' + ')}${c.measured ? '  [measured]' : ''}\n`);
        }
        process.stdout.write(`${list.length} candidates for ${byTarget.size} targets\n`);
        if (o.out) await writeFileAtomic(o.out, `${JSON.stringify(list, null, 2)}\n`);
      },
    );
}

async function readRanking(path: string): Promise<Record<string, string[]>> {
  let value: unknown;
  try {
    value = JSON.parse(await readInputText(path, 'a JSON file'));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${path}: expected {"<target>": ["source", ...]} (best first)`);
  }
  for (const [t, list] of Object.entries(value)) {
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) {
      throw new Error(`${path}: the ranking of "${t}" must be a list of source names`);
    }
  }
  return value as Record<string, string[]>;
}
