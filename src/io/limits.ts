/**
 * Resource limits for everything that reads a size from a file (or derives one from its contents) and allocates
 * from it. A small hostile input must be refused with a message, never turned into a multi-gigabyte allocation,
 * a V8 heap abort or a minutes-long loop; so readers compare what a file declares against these limits BEFORE
 * allocating, and the refusal names the file, what would be allocated, the limit and how to raise it.
 *
 * The memory budget (default: half the memory available when the process starts, see DEFAULT_MAX_MEMORY) is set by
 * `setMaxMemory`, which the CLI's `--max-memory` calls, or by the environment variable TASKMAP_MAX_MEMORY ("512M",
 * "8G", plain bytes).
 * Allocations on the JavaScript heap (plain arrays, Maps, strings) are also held to the Node.js heap limit, which
 * only `node --max-old-space-size` raises; typed arrays live outside it and only the budget applies.
 *
 * Structural limits (pickle nesting, integer length) do not scale with memory: they bound recursion and time,
 * and the functions that use them take an option to raise them.
 */
import { freemem, totalmem } from 'node:os';
import { createRequire } from 'node:module';

/** A refused input: over a memory budget or a structural limit. The server maps it to 413. */
export class LimitError extends Error {
  override name = 'LimitError';
}

const GiB = 1024 ** 3;
const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: GiB, t: 1024 ** 4 };

/** "512M", "8G", "1.5GiB", "64kb", "1048576" → bytes (binary multiples). Undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) return undefined;
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2].toLowerCase()]);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/** Bytes for messages: "7.2 GB" style with binary units, exact below 1 KiB. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return 'an unbounded amount';
  for (const [unit, size] of [
    ['TiB', 1024 ** 4],
    ['GiB', GiB],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (n >= size) return `${(n / size).toFixed(1)} ${unit}`;
  }
  return `${n} bytes`;
}

/**
 * The default budget: half the memory available when the process starts (os.freemem(), Linux's MemAvailable: free
 * memory plus what the page cache would give back), so that a run within it neither swaps nor starves what else
 * is running, whatever the machine: a fixed cap (4 GiB) refused an N = 20,000 RDM (3.2 GB) on a machine with 22 GB
 * free, and half the physical memory is too much on a machine that has little of it free.
 */
export const DEFAULT_MAX_MEMORY = Math.floor(Math.min(freemem(), totalmem()) / 2);

let override: number | undefined;

/** Set the memory budget in bytes (or a size string); undefined restores the default / environment. */
export function setMaxMemory(size: number | string | undefined): void {
  if (size === undefined) {
    override = undefined;
    return;
  }
  const bytes = typeof size === 'number' ? size : parseSize(size);
  if (bytes === undefined || !(bytes > 0)) throw new Error(`--max-memory: "${size}" is not a size; use e.g. 512M, 8G or a number of bytes`);
  override = bytes;
}

/** The memory budget in bytes: setMaxMemory, else TASKMAP_MAX_MEMORY, else DEFAULT_MAX_MEMORY. */
export function maxMemory(): number {
  if (override !== undefined) return override;
  const env = process.env.TASKMAP_MAX_MEMORY;
  if (env !== undefined && env.trim() !== '') {
    const bytes = parseSize(env);
    if (bytes === undefined) throw new Error(`TASKMAP_MAX_MEMORY="${env}" is not a size; use e.g. 512M, 8G or a number of bytes`);
    return bytes;
  }
  return DEFAULT_MAX_MEMORY;
}

export const RAISE_MEMORY = 'raise it with --max-memory (e.g. --max-memory 16G) or the environment variable TASKMAP_MAX_MEMORY';

/** The JS heap still free; the heap limit is fixed at process start, so this is what a heap allocation can use. */
function heapLeft(): number {
  // node:v8 on first use: importing it costs ~3 ms of every command's start-up (`taskmap --help` included).
  const h = (createRequire(import.meta.url)('node:v8') as typeof import('node:v8')).getHeapStatistics();
  return Math.max(0, h.heap_size_limit - h.used_heap_size);
}

/** Advice for a refusal on the JavaScript heap; adapters that run readers elsewhere (the server's workers) swap it. */
export const RAISE_HEAP = 'raise it with NODE_OPTIONS=--max-old-space-size=<MiB> (and --max-memory if that is lower)';

/**
 * Refuse to allocate `bytes` for `what` (e.g. "the 20,000×20,000 transfer matrix") when it exceeds the memory
 * budget; `file` starts the message. `heap`: the allocation is on the JS heap (plain arrays, Maps), so the
 * remaining Node.js heap is a limit too.
 */
export function checkAllocation(what: string, bytes: number, file?: string, heap = false): void {
  const prefix = file === undefined ? '' : `${file}: `;
  const budget = maxMemory();
  if (!(bytes <= budget)) {
    throw new LimitError(`${prefix}${what} would need ${formatBytes(bytes)}, over the memory limit of ${formatBytes(budget)}; ${RAISE_MEMORY}`);
  }
  if (heap) {
    const left = heapLeft();
    if (bytes > left) {
      throw new LimitError(
        `${prefix}${what} would need ${formatBytes(bytes)} of JavaScript heap, but only ${formatBytes(left)} is left under the Node.js heap limit; ` +
          RAISE_HEAP,
      );
    }
  }
}

/** Refuse a count over a structural limit; `raise` says which option or setting raises it. */
export function checkCount(what: string, count: number, limit: number, raise: string, file?: string): void {
  if (count > limit) {
    const prefix = file === undefined ? '' : `${file}: `;
    throw new LimitError(`${prefix}${what} (${count.toLocaleString('en-US')}) is over the limit of ${limit.toLocaleString('en-US')}; ${raise}`);
  }
}

/** Structural limits of the restricted unpickler (see pickle.ts); each is an `unpickle` option of the same name. */
export const PICKLE_LIMITS = {
  /** Nesting of containers: deeper data is not a result dict, and JSON / recursive consumers overflow the stack. */
  maxDepth: 1000,
  /** Bytes of one LONG1/LONG4 integer (protocol 0 decimal integers: the same magnitude in digits). 2048 bits. */
  maxIntBytes: 256,
} as const;

/** Approximate JS-heap bytes per pickle memo entry (a Map slot plus its key). */
export const MEMO_ENTRY_BYTES = 64;
/** V8's hard cap on Map entries. */
export const MAX_MAP_ENTRIES = 2 ** 24 - 1;

/** How many entries a memo (or any Map keyed per input item) may hold under the memory budget and heap. */
export function maxMapEntries(bytesPerEntry: number): number {
  return Math.min(MAX_MAP_ENTRIES, Math.floor(Math.min(maxMemory(), heapLeft()) / bytesPerEntry));
}

/** The longest excerpt of file content echoed in an error message. */
export const EXCERPT_CHARS = 80;

/** Quote at most EXCERPT_CHARS of text taken from a file, saying how much was left out. */
export function excerpt(text: string, max = EXCERPT_CHARS): string {
  if (text.length <= max) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, max))}… (${(text.length - max).toLocaleString('en-US')} more characters)`;
}

/**
 * A bounded, cycle-safe description of a parsed value for error messages: kind and size, never the contents
 * (a hostile value may be huge, deeply nested, cyclic or share references that expand exponentially).
 */
export function summarize(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return `the string ${excerpt(v)}`;
  if (typeof v === 'bigint') return `an integer of ${v.toString(16).length * 4} bits, too large for a float`;
  if (typeof v !== 'object') return `${typeof v} ${String(v)}`;
  if (Array.isArray(v)) return `a list of ${v.length.toLocaleString('en-US')} items`;
  if (v instanceof Set) return `a set of ${v.size.toLocaleString('en-US')} items`;
  if (ArrayBuffer.isView(v)) return `binary data (${v.byteLength.toLocaleString('en-US')} bytes)`;
  const o = v as { dtype?: unknown; shape?: unknown };
  if (typeof o.dtype === 'string' && Array.isArray(o.shape)) return `a ${o.shape.join('×') || 'scalar'} ${o.dtype} array`;
  const keys = Object.keys(v).length;
  return `a dict with ${keys.toLocaleString('en-US')} key${keys === 1 ? '' : 's'}`;
}
