/**
 * Supported Node versions (issue 17): package.json's `engines`, the README and CONTRIBUTING say the same thing,
 * the Node running the tests satisfies it, and so does every installed dependency's own `engines.node` — except
 * nsfwjs, whose field pins the exact version its author built with (`22.13.0`) and is stricter than what taskmap
 * uses of it: taskmap never runs nsfwjs's JavaScript, it only reads the model files (model.min.js + weight shards)
 * that the package ships (src/models/tfjs.ts). That pin is what makes `npm ci` print EBADENGINE.
 *
 * Only the Node this suite runs on is tested; the other supported lines (22.13+, 24+) are checked here only
 * through the dependencies' declared ranges.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/sharedData.js';

const SUPPORTED = '^20.19.0 || ^22.13.0 || >=24';

/** Dependencies whose `engines.node` the supported versions need not satisfy, with the reason. */
const ENGINE_EXCEPTIONS: Record<string, string> = {
  nsfwjs: 'pins "22.13.0" exactly; taskmap only reads its model files, never runs its code',
};

type Version = [number, number, number];

function parseVersion(v: string): Version {
  const parts = v.replace(/^v/, '').split('.');
  return [0, 1, 2].map((i) => (parts[i] === undefined || /^[x*]$/i.test(parts[i]) ? 0 : Number.parseInt(parts[i], 10))) as Version;
}

function cmp(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/**
 * The subset of npm's range grammar the lockfile's `engines.node` fields use: `||` alternatives of space-separated
 * comparators `>=`, `>`, `<`, `<=`, `^`, `~`, exact `X.Y.Z`, partial `X`, `X.x`, `X.*`, and `*`.
 */
function satisfies(version: string, range: string): boolean {
  const v = parseVersion(version);
  return range.split('||').some((alt) => {
    const comparators = alt
      .trim()
      .replace(/(>=|<=|>|<|\^|~)\s+/g, '$1')
      .split(/\s+/)
      .filter(Boolean);
    return comparators.every((c) => {
      const m = /^(>=|<=|>|<|\^|~|=)?(.*)$/.exec(c)!;
      const [op, ver] = [m[1] ?? '', m[2]];
      if (ver === '*' || ver === 'x' || ver === '') return true;
      const w = parseVersion(ver);
      const given = ver.split('.').filter((p) => !/^[x*]$/i.test(p)).length;
      switch (op) {
        case '>=':
          return cmp(v, w) >= 0;
        case '>':
          return cmp(v, w) > 0;
        case '<':
          return cmp(v, w) < 0;
        case '<=':
          return cmp(v, w) <= 0;
        case '^':
          return cmp(v, w) >= 0 && v[0] === w[0] && (w[0] !== 0 || v[1] === w[1]);
        case '~':
          return cmp(v, w) >= 0 && v[0] === w[0] && v[1] === w[1];
        default:
          // Exact, or a partial version (X, X.Y, X.x) meaning every version with that prefix.
          return given >= 3 ? cmp(v, w) === 0 : v[0] === w[0] && (given < 2 || v[1] === w[1]);
      }
    });
  });
}

const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } };

describe('supported Node versions', () => {
  it('the range checker reads the forms the lockfile uses', () => {
    expect(satisfies('20.20.2', SUPPORTED)).toBe(true);
    expect(satisfies('20.18.3', SUPPORTED)).toBe(false);
    expect(satisfies('21.7.0', SUPPORTED)).toBe(false);
    expect(satisfies('22.12.0', SUPPORTED)).toBe(false);
    expect(satisfies('22.13.0', SUPPORTED)).toBe(true);
    expect(satisfies('24.0.0', SUPPORTED)).toBe(true);
    expect(satisfies('20.20.2', '6.* || 8.* || >= 10.*')).toBe(true);
    expect(satisfies('20.20.2', '4.x || >=6.0.0')).toBe(true);
    expect(satisfies('20.20.2', '22.13.0')).toBe(false);
    expect(satisfies('20.20.2', '18 || 20 || >=22')).toBe(true);
    expect(satisfies('20.20.2', '>=16 || 14 >=14.17')).toBe(true);
    expect(satisfies('22.1.0', '^20.9.0')).toBe(false);
  });

  it('package.json engines, the README and CONTRIBUTING state the same versions', () => {
    expect(pkg.engines.node).toBe(SUPPORTED);
    for (const doc of ['README.md', 'CONTRIBUTING.md']) {
      const text = readFileSync(path.join(repoRoot, doc), 'utf8');
      expect(text, doc).toContain(`\`${SUPPORTED}\``);
      expect(text, doc).not.toMatch(/Node ≥ 20\b/);
    }
  });

  it(`the running Node (${process.versions.node}) satisfies engines`, () => {
    expect(satisfies(process.versions.node, pkg.engines.node)).toBe(true);
  });

  it("every installed dependency's engines.node admits the running Node, except the documented exceptions", () => {
    const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { engines?: { node?: string } | string[]; os?: string[]; cpu?: string[] }>;
    };
    const failing: string[] = [];
    for (const [where, meta] of Object.entries(lock.packages)) {
      if (!where || Array.isArray(meta.engines) || !meta.engines?.node) continue;
      // Platform packages for other systems are never installed here.
      if (meta.os && !meta.os.includes(process.platform)) continue;
      if (meta.cpu && !meta.cpu.includes(process.arch)) continue;
      const name = where.split('node_modules/').pop()!;
      const range = meta.engines.node;
      // The running Node and the lowest version of each supported line (what the range was decided from).
      const bad = [process.versions.node, '20.19.0', '22.13.0', '24.0.0'].filter((v) => !satisfies(v, range));
      if (bad.length) failing.push(`${name} (${range}: not ${bad.join(', ')})`);
    }
    expect(failing.filter((f) => !Object.keys(ENGINE_EXCEPTIONS).includes(f.split(' ')[0]))).toEqual([]);
    expect(failing.map((f) => f.split(' ')[0])).toEqual(['nsfwjs']);
  });
});
