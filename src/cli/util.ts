/** Small helpers shared by the CLI commands: option parsing and output. */

/** An error whose message is meant for the user as-is (no stack trace). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * "a,b,c" → ["a","b","c"] (empty items dropped). Repeated options are joined first. With `flag`, a value that
 * names nothing (",", " ") is a usage error rather than an empty selection that fails later without a reason.
 */
export function parseList(value: string | string[] | undefined, flag?: string): string[] | undefined {
  if (value === undefined) return undefined;
  const items = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(','));
  const list = items.map((s) => s.trim()).filter((s) => s.length > 0);
  if (flag && list.length === 0) throw new UsageError(`${flag}: expected a comma-separated list of names, got "${String(value)}"`);
  return list;
}

/** A ";"-separated list of measure ids (ids contain commas); undefined when the flag is absent. */
export function parseMeasureList(value: string | undefined): string[] | undefined {
  return value
    ?.split(';')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Collector for repeatable options (`--cost a=1 --cost b=2`). */
export function collect(value: string, previous: string[] = []): string[] {
  return previous.concat([value]);
}

/** ["a=1", "b=2"] → {a: "1", b: "2"}; a clear error for items without "=". */
export function parseKeyValues(items: string[] | undefined, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`${what}: expected key=value, got "${item}"`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** Like parseKeyValues, but every value must be a finite number. */
export function parseKeyNumbers(items: string[] | undefined, what: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(parseKeyValues(items, what))) {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x)) throw new UsageError(`${what}: "${k}=${v}" is not a number`);
    out[k] = x;
  }
  return out;
}

/** parseKeyNumbers whose keys must be among `keys` (e.g. the crop pool's parts; `noun` names one in the error). */
export function parseKeyNumbersIn<K extends string>(items: string[] | undefined, what: string, keys: readonly K[], noun: string): Partial<Record<K, number>> {
  const out = parseKeyNumbers(items, what);
  for (const k of Object.keys(out)) if (!keys.includes(k as K)) throw new UsageError(`${what}: no ${noun} "${k}" (${noun}s: ${keys.join(', ')})`);
  return out as Partial<Record<K, number>>;
}

export function parseNumber(value: string, what: string, opts: { integer?: boolean; min?: number } = {}): number {
  const x = Number(value);
  if (value.trim() === '' || !Number.isFinite(x)) throw new UsageError(`${what}: "${value}" is not a number`);
  if (opts.integer && !Number.isInteger(x)) throw new UsageError(`${what}: "${value}" is not an integer`);
  if (opts.min !== undefined && x < opts.min) throw new UsageError(`${what}: must be at least ${opts.min}, got ${x}`);
  return x;
}

/** The command line as a shell would need it quoted (for reports that quote the command that made them). */
export function shellQuote(args: string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' ');
}
