/**
 * Outputs never replace inputs. Every command names its outputs the same way (`--out`, `--…-out`, `--newick`), so
 * one check before any action covers them all: an output that is one of the command's input files (same path or
 * the same file through a link), its labels sidecar, or a feature file or extraction manifest inside an input
 * folder (an existing one is input; a new one would join the set next run) is refused before anything is computed
 * or written.
 */
import type { Command, Option } from 'commander';
import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, extname, isAbsolute, relative, resolve } from 'node:path';
import { UsageError } from './util.js';

const FEATURE_FILE = new Set(['.npy', '.npz', '.safetensors']);

function isOutputOption(o: Option): boolean {
  const long = o.long ?? '';
  return long === '--out' || long.endsWith('-out') || long === '--newick';
}

async function statOf(p: string): Promise<Stats | undefined> {
  return stat(p).catch(() => undefined);
}

function inside(dir: string, p: string): boolean {
  const r = relative(dir, p);
  return r !== '' && !r.startsWith('..') && !isAbsolute(r);
}

/** Throws a UsageError when one of `cmd`'s output options would overwrite or extend one of its inputs. */
export async function refuseOutputsOverInputs(cmd: Command): Promise<void> {
  const outputs: { flag: string; path: string; dir: boolean }[] = [];
  const candidates: string[] = cmd.args.filter((a) => typeof a === 'string');
  for (const o of cmd.options) {
    const value: unknown = cmd.getOptionValue(o.attributeName());
    const values = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string' && v.length > 0);
    if (isOutputOption(o)) for (const v of values) outputs.push({ flag: o.long!, path: v, dir: o.flags.includes('<dir>') });
    else candidates.push(...values);
  }
  if (outputs.length === 0) return;
  // An option value is an input when it names something that exists; labels, numbers and ids do not.
  const inputs: { path: string; abs: string; st: Stats }[] = [];
  for (const c of new Set(candidates)) {
    const st = await statOf(c);
    if (st) inputs.push({ path: c, abs: resolve(c), st });
  }
  const seen = new Map<string, string>();
  for (const out of outputs) {
    const abs = resolve(out.path);
    const twice = seen.get(abs);
    if (twice) throw new UsageError(`${out.flag} ${out.path}: also given as ${twice}; each output needs its own file`);
    seen.set(abs, out.flag);
    const ost = await statOf(abs);
    for (const input of inputs) {
      const same = abs === input.abs || (ost !== undefined && ost.dev === input.st.dev && ost.ino === input.st.ino);
      if (same)
        throw new UsageError(
          `${out.flag} ${out.path} is also an input of this command; refusing to overwrite it — choose another output ${out.dir ? 'folder' : 'file'}`,
        );
      if (abs === `${input.abs}.labels.json`)
        throw new UsageError(`${out.flag} ${out.path} is the labels file of the input ${input.path}; choose another output file`);
      if (out.dir || !input.st.isDirectory() || !inside(input.abs, abs)) continue;
      // Inside an input folder, the files a feature set is read from (and the extraction index) are input.
      if (FEATURE_FILE.has(extname(abs).toLowerCase()) || basename(abs) === 'manifest.json') {
        throw new UsageError(
          `${out.flag} ${out.path} would ${ost ? 'overwrite' : 'add'} a file the input folder ${input.path} is read from${ost ? '' : ' (it would be read as a member next time)'}; choose an output outside it`,
        );
      }
    }
  }
}
