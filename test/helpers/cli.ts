/** Run the CLI in-process and capture what it prints (stdout/stderr) instead of spawning a process. */
import { vi } from 'vitest';
import { main } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** One CLI call: its exit code and everything it wrote. */
export async function runCli(...args: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    const code = await main(['node', 'taskmap', ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

/** What the latest `runCliCode` call printed, for suites that check output after asserting the exit code. */
export const lastOutput = { out: '', err: '' };

/** `runCli` returning just the exit code; the output lands in `lastOutput`. */
export async function runCliCode(...args: string[]): Promise<number> {
  const r = await runCli(...args);
  lastOutput.out = r.out;
  lastOutput.err = r.err;
  return r.code;
}
