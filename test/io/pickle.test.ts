import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isNdArray, ndarrayToNested } from '../../src/io/npy.js';
import { readNpyObject, unpickle } from '../../src/io/pickle.js';
import { sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIX = join(HERE, '../fixtures/io/pickle');
const DATA = sharedDataDir;
const TASKONOMY = join(DATA, 'taskonomy');
const DDS = join(DATA, 'duality-diagram-similarity/CVPR2020_results');

/** The JS value in the JSON spelling make_fixtures.py uses for the Python value (see its `jsonable`). */
function jsonable(x: unknown): unknown {
  if (isNdArray(x)) {
    const data = Array.from(x.data as ArrayLike<number | bigint>, (v) => (x.dtype === 'bool' ? v !== 0 : jsonable(v)));
    return { __ndarray__: x.dtype, shape: x.shape, data };
  }
  if (typeof x === 'bigint') return Number.isSafeInteger(Number(x)) && BigInt(Number(x)) === x ? Number(x) : { __bigint__: x.toString() };
  if (typeof x === 'number') return Number.isFinite(x) ? x : { __float__: x > 0 ? 'inf' : x < 0 ? '-inf' : 'nan' };
  if (Array.isArray(x)) return x.map(jsonable);
  if (x instanceof Set) return { __set__: [...x].map(jsonable).sort() };
  if (x instanceof Uint8Array) return { __bytes__: Array.from(x) };
  if (typeof x === 'object' && x !== null) return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, jsonable(v)]));
  return x;
}

/** NdArrays → nested number lists, as the JSON twins of the real data spell them. */
function nested(x: unknown): unknown {
  if (isNdArray(x)) return ndarrayToNested(x);
  if (Array.isArray(x)) return x.map(nested);
  if (typeof x === 'object' && x !== null) return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, nested(v)]));
  return x;
}

const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

describe('unpickle: plain data, protocols 0–5 (fixtures written by Python)', () => {
  const expected = JSON.parse(readFileSync(join(FIX, 'plain_expected.json'), 'utf8'));
  for (let proto = 0; proto <= 5; proto++) {
    it(`protocol ${proto} matches Python's own reading value for value`, () => {
      const value = unpickle(readFileSync(join(FIX, `plain_p${proto}.pkl`)), `plain_p${proto}.pkl`) as Record<string, unknown>;
      expect(jsonable(value)).toEqual(expected);
      // Key order of the (Ordered)dict survives, except that JS lists integer-like keys first; the int key 7 is
      // spelled "7" like json.dumps does.
      expect(Object.keys(value).slice(0, 4)).toEqual(['7', 'str', 'empty', 'ints']);
      expect(value['7']).toBe('int key');
      // The memo shares objects exactly as Python does.
      expect(value.shared1).toBe(value.shared2);
      expect(value.shared_arr1).toBe(value.shared_arr2);
      // Arrays come back as typed arrays in C order with the right dtype.
      const fortran = value.np_fortran as { dtype: string; shape: number[]; data: Float64Array };
      expect(fortran.data).toBeInstanceOf(Float64Array);
      expect(Array.from(fortran.data)).toEqual(Array.from({ length: 24 }, (_, i) => i / 3));
      expect((value.np_i8 as { data: unknown }).data).toBeInstanceOf(BigInt64Array);
      expect(value.np_0d).toEqual({ dtype: 'float64', shape: [], data: new Float64Array([4.25]) });
    });
  }

  it('a __proto__ key is stored as data and does not touch any prototype', () => {
    // {'__proto__': {'polluted': 1}} at protocol 2
    const bytes = new Uint8Array([
      0x80,
      2,
      0x7d,
      0x58,
      9,
      0,
      0,
      0,
      ...ascii('__proto__'),
      0x7d,
      0x58,
      8,
      0,
      0,
      0,
      ...ascii('polluted'),
      0x4b,
      1,
      0x73,
      0x73,
      0x2e,
    ]);
    const v = unpickle(bytes, 'proto.pkl') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(JSON.stringify(v)).toBe('{"__proto__":{"polluted":1}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('dict keys that are neither str nor int are refused, naming the problem', () => {
    // {(1, 2): 3} at protocol 2
    const bytes = new Uint8Array([0x80, 2, 0x7d, 0x4b, 1, 0x4b, 2, 0x86, 0x4b, 3, 0x73, 0x2e]);
    expect(() => unpickle(bytes, 'k.pkl')).toThrow('k.pkl: dict key a list/tuple is not a string or integer');
  });
});

describe('unpickle: hostile pickles never run code', () => {
  const markers = JSON.parse(readFileSync(join(FIX, 'hostile_markers.json'), 'utf8')) as Record<string, string>;
  const globals: Record<string, RegExp> = {
    os_system: /refusing to unpickle global (posix|os)\.system: only plain data \(dicts, lists, tuples, strings, numbers, numpy arrays\) is accepted/,
    os_system_p4: /refusing to unpickle global (posix|os)\.system/,
    builtins_eval: /refusing to unpickle global builtins\.eval/,
    subprocess_popen: /refusing to unpickle global subprocess\.Popen/,
    os_literal: /^hostile_os_literal\.pkl: refusing to unpickle global os\.system: only plain data/,
  };
  for (const [name, marker] of Object.entries(markers)) {
    it(`${name} (payload verified live by Python when generated) is refused and creates nothing`, () => {
      rmSync(marker, { force: true });
      const bytes = readFileSync(join(FIX, `hostile_${name}.pkl`));
      expect(() => unpickle(bytes, `hostile_${name}.pkl`)).toThrow(globals[name]);
      expect(existsSync(marker)).toBe(false);
    });
  }

  it('refuses every non-whitelisted global however it is named (GLOBAL, STACK_GLOBAL, INST), with no side effect', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'taskmap-pickle-'));
    const marker = join(dir, 'pwned');
    const cases: [string, Uint8Array][] = [
      ['os.system', ascii(`cos\nsystem\n(S'touch ${marker}'\ntR.`)],
      ['posix.system', ascii(`\x80\x04\x8c\x05posix\x8c\x06system\x93\x8c${String.fromCharCode(6 + marker.length)}touch ${marker}\x85R.`)],
      ['os.system', ascii(`(S'touch ${marker}'\nios\nsystem\n.`)],
      ['builtins.exec', ascii(`cbuiltins\nexec\n(Vopen('${marker}','w')\ntR.`)],
      ['builtins.getattr', ascii(`cbuiltins\ngetattr\n(cbuiltins\ndict\nS'x'\ntR.`)],
      ['copyreg._reconstructor', ascii(`ccopyreg\n_reconstructor\n(t.`)],
      ['numpy.load', ascii(`cnumpy\nload\n(S'${marker}'\ntR.`)],
      ['numpy.core.multiarray.system', ascii(`cnumpy.core.multiarray\nsystem\n.`)],
    ];
    for (const [global, bytes] of cases) {
      expect(() => unpickle(bytes, 'evil.pkl')).toThrow(`evil.pkl: refusing to unpickle global ${global}: only plain data`);
    }
    expect(readdirSync(dir)).toEqual([]);
    rmSync(dir, { recursive: true });
  });

  it('refuses object-state tricks on whitelisted globals and external references', () => {
    // OrderedDict() then BUILD with an attribute dict: would set attributes in Python.
    expect(() => unpickle(ascii(`ccollections\nOrderedDict\n)R}S'a'\nI1\nsb.`), 'b.pkl')).toThrow(
      /BUILD \(setting object state\) on an object is not plain data/,
    );
    expect(() => unpickle(ascii(`S'x'\nP`), 'p.pkl')).toThrow(/persistent ids/);
    expect(() => unpickle(new Uint8Array([0x80, 4, 0x82, 1, 0x2e]), 'e.pkl')).toThrow(/extension-registry/);
    expect(() => unpickle(ascii(`cnumpy\nndarray\n.`), 'g.pkl')).toThrow(/numpy\.ndarray appears as a value/);
  });
});

describe('unpickle: corrupt input', () => {
  for (const proto of [0, 2, 4, 5]) {
    it(`every strict prefix of a protocol ${proto} pickle is reported as truncated`, () => {
      const bytes = new Uint8Array(readFileSync(join(FIX, `plain_p${proto}.pkl`)));
      for (let n = 0; n < bytes.length; n++) {
        expect(() => unpickle(bytes.subarray(0, n), 'cut.pkl')).toThrow(/^cut\.pkl: truncated pickle: .*re-create it$/);
      }
    });
  }

  it('names the problem for garbage and malformed programs', () => {
    expect(() => unpickle(ascii('hello'), 'x.pkl')).toThrow('x.pkl: corrupt pickle at byte 0: memo entry 101 is not defined');
    expect(() => unpickle(new Uint8Array([0xff, 0x2e]), 'x.pkl')).toThrow('x.pkl: corrupt pickle at byte 0: unknown opcode 0xff');
    expect(() => unpickle(new Uint8Array([0x2e]), 'x.pkl')).toThrow('x.pkl: corrupt pickle at byte 0: stack underflow');
    expect(() => unpickle(new Uint8Array([0x80, 9, 0x4e, 0x2e]), 'x.pkl')).toThrow(/unsupported pickle protocol 9/);
    expect(() => unpickle(new Uint8Array([0x68, 5, 0x2e]), 'x.pkl')).toThrow(/memo entry 5 is not defined/);
  });
});

describe.skipIf(skipWithoutSharedData)('unpickle: the published Taskonomy pickles equal their JSON twins', () => {
  // The factory runs even when skipped: list nothing if the data is absent.
  const files = (existsSync(TASKONOMY) ? ['affinities', 'winrates'] : []).flatMap((sub) =>
    readdirSync(join(TASKONOMY, 'results', sub))
      .filter((f) => f.endsWith('.pkl'))
      .map((f) => join('results', sub, f)),
  );
  it('finds all nine result files', () => expect(files.length).toBe(9));
  for (const rel of files) {
    it(rel, () => {
      const value = unpickle(readFileSync(join(TASKONOMY, rel)), rel);
      const twin = JSON.parse(readFileSync(join(TASKONOMY, rel.replace(/\.pkl$/, '.json')), 'utf8'));
      expect(Object.keys(value as object).length).toBe(Object.keys(twin).length);
      // toEqual compares numbers with Object.is: the doubles are bit-identical.
      expect(value).toEqual(twin);
    });
  }
  for (const tool of ['ranked_first_order_transfers', 'final_first_order_rank', 'generalization']) {
    it(`code/tools/${tool}.pkl (1-element numpy string arrays flatten to the JSON strings)`, () => {
      const value = unpickle(readFileSync(join(TASKONOMY, 'code/tools', `${tool}.pkl`)), tool) as Record<string, unknown[]>;
      const twin = JSON.parse(readFileSync(join(TASKONOMY, 'code/tools', `${tool}.json`), 'utf8'));
      const flat = Object.fromEntries(
        Object.entries(value).map(([k, list]) => [k, list.map((x) => (Array.isArray(x) && x.length === 1 && typeof x[0] === 'string' ? x[0] : x))]),
      );
      expect(flat).toEqual(twin);
      if (tool !== 'ranked_first_order_transfers') expect(Object.values(value)[0][0]).toEqual([expect.any(String)]);
    });
  }
});

describe.skipIf(skipWithoutSharedData)('readNpyObject: the DDS kernels.npy / rdms.npy pickled dicts equal their JSON twins', () => {
  const dirs = existsSync(DDS) ? readdirSync(DDS).sort() : [];
  for (const d of dirs) {
    for (const f of ['kernels', 'rdms']) {
      it(`${d}/${f}.npy`, () => {
        const value = readNpyObject(readFileSync(join(DDS, d, `${f}.npy`)), `${d}/${f}.npy`);
        const twin = JSON.parse(readFileSync(join(DDS, d, `${f}.json`), 'utf8'));
        expect(nested(value)).toEqual(twin);
      });
    }
  }
});
