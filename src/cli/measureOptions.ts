/**
 * The representation-measure options of `similarity` and `rank` (`--measure` and one flag per parameter), generated
 * from the measure catalogue: a parameter added to a family becomes a flag here without editing this file.
 */
import type { Command } from 'commander';
import { canonicalId, catalogueEntry, entriesFor, parameterUnion, type ParameterUnion } from '../measures/catalogue.js';
import { UsageError } from './util.js';

export type MeasureOptions = { measure: string } & Record<string, string | boolean | undefined>;

const PARAMETERS: ParameterUnion[] = parameterUnion('representations');

function flagOf(p: ParameterUnion): string {
  const kebab = p.name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  if (p.type === 'flag') return `--${kebab}`;
  const placeholder = p.type === 'shape' ? '<H,W,C>' : p.type === 'number' ? '<x>' : `<${p.name}>`;
  return `--${kebab} ${placeholder}`;
}

function helpOf(p: ParameterUnion): string {
  return p.families
    .map((f) => {
      const values = f.values ? ` (${f.values.join(', ')})` : '';
      const def = f.default !== undefined && p.type !== 'flag' ? `; default ${String(f.default)}` : '';
      return `${f.family}: ${f.description}${values}${def}`;
    })
    .join(' · ');
}

export function addMeasureOptions(cmd: Command): Command {
  const families = entriesFor('representations').map((e) => e.family);
  cmd.option('-m, --measure <id>', `measure family (${families.join(', ')}) or a full id such as dds:norm=znorm,kernel=lap (see \`taskmap measures\`)`, 'rsa');
  for (const p of PARAMETERS) cmd.option(flagOf(p), helpOf(p));
  return cmd;
}

/** The per-parameter flags the user gave (for a task measure, which takes none of them). */
export function givenParameterFlags(o: MeasureOptions): string[] {
  return PARAMETERS.filter((p) => o[p.name] !== undefined && o[p.name] !== false).map((p) => flagOf(p).split(' ')[0]);
}

/** Merge `--measure` (a family or a full id) with the per-parameter flags into one canonical measure id. */
export function measureIdFromOptions(o: MeasureOptions): string {
  const extra: string[] = [];
  for (const p of PARAMETERS) {
    const value = o[p.name];
    if (value === undefined || value === false) continue;
    if (p.type === 'flag') extra.push(p.name);
    else if (p.type === 'shape') {
      const dims = String(value)
        .split(/[,x×]/)
        .map((s) => s.trim());
      if (dims.length !== 3) throw new UsageError(`--${p.name}: expected H,W,C, got "${String(value)}"`);
      extra.push(`${p.name}=${dims.join('x')}`);
    } else extra.push(`${p.name}=${String(value)}`);
  }
  const base = o.measure.trim();
  const id = extra.length === 0 ? base : `${base}${base.includes(':') ? ',' : ':'}${extra.join(',')}`;
  catalogueEntry(id, 'representations');
  return canonicalId(id);
}
