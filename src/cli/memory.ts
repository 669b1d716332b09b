/**
 * `--dry-run` and the up-front memory check of `similarity`, `rank` and `rdm` (issue 15): the estimate from shapes
 * (ops/memory.ts) is printed instead of running, and a run over the memory budget is refused before it loads.
 */
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { checkMemoryEstimate, featureSetShapes, formatMemoryEstimate, type FeatureSetShapes, type MemberShape, type MemoryEstimate } from '../ops/memory.js';
import { UsageError } from './util.js';

export function addDryRunOption(cmd: Command): Command {
  return cmd.option('--dry-run', 'print the estimated peak memory (from the .npy headers) and exit; a run above --max-memory is refused up front');
}

/**
 * With `dryRun`, print the estimate for the members of `path` (those in `order`, when given) and return true: the
 * command stops there. Otherwise refuse a run whose estimate is over the budget — when the shapes come from the
 * .npy headers; other formats are not loaded twice just to check, their readers check as they allocate.
 */
export async function memoryGate(
  path: string,
  dryRun: boolean | undefined,
  order: string[] | undefined,
  estimateOf: (members: MemberShape[], input: { folder: boolean }) => MemoryEstimate,
): Promise<boolean> {
  let shapes: FeatureSetShapes;
  try {
    shapes = await featureSetShapes(path, { load: Boolean(dryRun) });
  } catch (e) {
    // The run itself reports a missing or unreadable input, with the loader's own message.
    if (dryRun) throw e;
    return false;
  }
  if (shapes.members.length === 0) return false;
  let members = shapes.members;
  if (order) {
    const byLabel = new Map(members.map((m) => [m.label, m]));
    const unknown = order.filter((l) => !byLabel.has(l));
    if (unknown.length) throw new UsageError(`--order: unknown label${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}`);
    members = order.map((l) => byLabel.get(l)!);
  }
  // A folder of .npy files is what `similarity` reads member by member (features/featureSet.ts openFeatureSet).
  const estimate = estimateOf(members, { folder: (await stat(path)).isDirectory() });
  if (dryRun) {
    process.stdout.write(`${formatMemoryEstimate(estimate, shapes.from)}\n`);
    return true;
  }
  checkMemoryEstimate(estimate, path);
  return false;
}
