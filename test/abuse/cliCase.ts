/**
 * A CLI call for abuse cases (runs inside the bounded child, so no vitest here): stdout/stderr captured, a non-zero
 * exit thrown as an Error carrying what the CLI printed on stderr — the user-facing message the test checks.
 */
import { main } from '../../src/cli/main.js';

export async function cli(...args: string[]): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => ((out += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  let code: number;
  try {
    code = await main(['node', 'taskmap', ...args]);
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
  if (code !== 0) throw new Error(err.trim() || `exit ${code}`);
  return { out, err };
}
