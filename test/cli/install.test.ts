/**
 * The README's global install (`npm install -g .` from a clone) gives a `taskmap` that works outside the clone.
 * npm links the clone rather than copying it, so the build `npm ci` made is what runs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/sharedData.js';

const prefix = mkdtempSync(join(tmpdir(), 'taskmap-global-'));
afterAll(() => rmSync(prefix, { recursive: true, force: true }));

describe('global install', () => {
  it('npm install -g . puts a working taskmap on the PATH, usable from any folder', () => {
    execFileSync('npm', ['install', '-g', '--prefix', prefix, '--ignore-scripts', '--no-audit', '--no-fund', repoRoot], { stdio: 'pipe' });
    const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version as string;
    const out = execFileSync(join(prefix, 'bin', 'taskmap'), ['--version'], { cwd: tmpdir(), encoding: 'utf8' });
    expect(out.trim()).toBe(version);
    const help = execFileSync(join(prefix, 'bin', 'taskmap'), ['measures'], { cwd: tmpdir(), encoding: 'utf8' });
    expect(help).toMatch(/rsa/);
  }, 120_000);
});
