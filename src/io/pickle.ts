/**
 * A restricted unpickler for Python pickles (protocols 0–5) that hold plain data: the Taskonomy result files and
 * numpy object arrays such as the DDS `kernels.npy`.
 *
 * A pickle is a program; Python's unpickler imports and calls whatever globals it names. This one never calls or
 * imports anything. It interprets the data opcodes itself, and accepts a global only from a short whitelist whose
 * meaning it implements here (numpy scalars, arrays and dtypes, OrderedDict, set/frozenset, `_codecs.encode` for
 * bytes in protocol 0–2 pickles). Any other global (os.system, builtins.eval, subprocess.Popen, ...) is refused the
 * moment it is named, before any argument is read.
 *
 * Python → JS:
 *   dict / OrderedDict → plain object. Keys must be str or int; int keys become their decimal string (as json.dumps
 *     does, so a str key and an int key with the same text collide, the later wins). Any other key type (tuple,
 *     float, bytes, None, bool) is an error naming the key. Insertion order is kept, except that JS objects list
 *     integer-like keys first.
 *   list, tuple → array; set, frozenset → Set; str → string; bytes, bytearray → Uint8Array; None → null;
 *   bool → boolean; float → number; int → number when it is a safe integer, else bigint.
 *   numpy scalar → number (ints: number when safe, else bigint), boolean for bool, string for `<U`.
 *   numpy ndarray of a numeric dtype → NdArray (C order, native byte order; float16 widened to float32);
 *     of `<U` strings → nested arrays of strings (a 0-d one → the string);
 *     of objects → nested arrays of the converted elements (a 0-d one → the element itself).
 *   numpy dtype on its own → its type string, e.g. '<f8'.
 *
 * Hostile pickles are refused before they cost time or memory (limits.ts): integers longer than `maxIntBytes`
 * (default 256 bytes, 2048 bits; Python's own int parsing stops near 4300 digits), containers nested deeper than
 * `maxDepth` (default 1000), more memo entries than the memory budget allows (64 bytes each, at most V8's Map
 * limit of 2^24 − 1), and shared references (memo GET/DUP) that would expand to more values than the budget holds
 * when copied (a "billion laughs" pickle). Reference cycles are an error: plain data is a tree. Error messages
 * describe values by kind and size ("a dict with 3 keys"), never by printing them.
 */
import {
  decodeElements,
  fortranToC,
  formatCount,
  formatShape,
  HOST_LITTLE_ENDIAN,
  latin1,
  nest,
  numericDType,
  parseNpyHeader,
  parseTypeString,
  product,
  readNpy,
  type ElementType,
} from './npy.js';
import { checkAllocation, checkCount, excerpt, LimitError, maxMapEntries, MEMO_ENTRY_BYTES, PICKLE_LIMITS } from './limits.js';

const REFUSAL = 'only plain data (dicts, lists, tuples, strings, numbers, numpy arrays) is accepted';

type Allowed = 'scalar' | 'reconstruct' | 'frombuffer' | 'ndarray' | 'dtype' | 'ordereddict' | 'set' | 'frozenset' | 'bytes' | 'encode';

/** "module name" as the GLOBAL opcode spells it → what we interpret it as. numpy 2 moved numpy.core to numpy._core. */
const ALLOWED_GLOBALS = new Map<string, Allowed>([
  ['numpy.core.multiarray scalar', 'scalar'],
  ['numpy._core.multiarray scalar', 'scalar'],
  ['numpy.core.multiarray _reconstruct', 'reconstruct'],
  ['numpy._core.multiarray _reconstruct', 'reconstruct'],
  // Protocol 5 pickles of contiguous arrays: _frombuffer(buffer, dtype, shape, order).
  ['numpy.core.numeric _frombuffer', 'frombuffer'],
  ['numpy._core.numeric _frombuffer', 'frombuffer'],
  ['numpy ndarray', 'ndarray'],
  ['numpy dtype', 'dtype'],
  ['collections OrderedDict', 'ordereddict'],
  ['builtins set', 'set'],
  ['builtins frozenset', 'frozenset'],
  // Protocols 0–2 write b'' as bytes().
  ['builtins bytes', 'bytes'],
  // Protocols 0–2 write bytes as _codecs.encode(str, 'latin1').
  ['_codecs encode', 'encode'],
]);

const MAX_DIMS = 64;

class Global {
  constructor(
    readonly kind: Allowed,
    readonly fullName: string,
  ) {}
}

/** A numpy dtype under construction: REDUCE gives the type code, BUILD the byte order and string size. */
class Dtype {
  constructor(public type: ElementType) {}
}

/** The value `_reconstruct` returns; BUILD fills in the array. Replaced by the array in the final pass. */
class ArrayStub {
  built = false;
  value: unknown = undefined;
}

export interface UnpickleOptions {
  /** Deepest container nesting accepted (default PICKLE_LIMITS.maxDepth = 1000). */
  maxDepth?: number;
  /** Longest LONG1/LONG4 integer in bytes (default PICKLE_LIMITS.maxIntBytes = 256). */
  maxIntBytes?: number;
  /** Most memo entries (default: what the memory budget allows at 64 bytes each, at most 2^24 − 1). */
  maxMemo?: number;
}

export function unpickle(bytes: Uint8Array, name: string, opts: UnpickleOptions = {}): unknown {
  return new Unpickler(bytes, name, opts).load();
}

/**
 * Read a .npy file whatever its dtype: numeric arrays as NdArray (readNpy), object arrays (dtype |O, which
 * np.save pickles) through the restricted unpickler, e.g. the DDS `kernels.npy` nested dicts.
 */
export function readNpyObject(bytes: Uint8Array, name: string, opts: UnpickleOptions = {}): unknown {
  const h = parseNpyHeader(bytes, name);
  if (h.type.kind !== 'O') return readNpy(bytes, name);
  return unpickle(bytes.subarray(h.dataOffset), name, opts);
}

function normaliseInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** A bounded, cycle-safe description of an unpickled value for error messages: its kind, never its contents. */
function describe(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'a list/tuple';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof Set) return 'a set';
  if (v instanceof Global) return `the global ${v.fullName}`;
  if (v instanceof Dtype) return 'a numpy dtype';
  if (v instanceof ArrayStub) return 'a numpy array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `string ${excerpt(v)}`;
  if (typeof v === 'bigint') return `int of ${v.toString(16).length * 4} bits`;
  return `${typeof v} ${String(v)}`;
}

class Unpickler {
  private pos = 0;
  private stack: unknown[] = [];
  private metastack: unknown[][] = [];
  // An array, not a Map: MEMOIZE indices are dense, and an array costs ~8 bytes a slot where a Map (and its
  // rehash) costs ~80; unpickled values are never undefined, so undefined marks a free slot.
  private readonly memo: unknown[] = [];
  private memoCount = 0;
  private readonly dicts = new WeakSet<object>();
  private readonly lists = new WeakSet<unknown[]>();
  private readonly view: DataView;
  private opStart = 0;
  private readonly maxDepth: number;
  private readonly maxIntBytes: number;
  private readonly maxMemo: number;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly name: string,
    opts: UnpickleOptions,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.maxDepth = opts.maxDepth ?? PICKLE_LIMITS.maxDepth;
    this.maxIntBytes = opts.maxIntBytes ?? PICKLE_LIMITS.maxIntBytes;
    this.maxMemo = opts.maxMemo ?? maxMapEntries(MEMO_ENTRY_BYTES);
  }

  private memoPut(i: number, v: unknown): void {
    const fresh = this.memo[i] === undefined;
    if (fresh && this.memoCount >= this.maxMemo) {
      checkCount(
        'the pickle memo (shared-object table) entries',
        this.memoCount + 1,
        this.maxMemo,
        'raise it with --max-memory or TASKMAP_MAX_MEMORY (64 bytes per entry; at most 16,777,215); library callers can also pass the unpickle option maxMemo',
        this.name,
      );
    }
    this.memo[i] = v;
    if (fresh) this.memoCount++;
  }

  private fail(what: string): never {
    throw new Error(`${this.name}: corrupt pickle at byte ${this.opStart}: ${what}`);
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.bytes.length) {
      throw new Error(
        `${this.name}: truncated pickle: needs ${formatCount(n)} more bytes at byte ${formatCount(this.pos)} but the data ends at byte ${formatCount(this.bytes.length)}; the file was cut off — re-create it`,
      );
    }
  }

  private u8(): number {
    this.need(1);
    return this.bytes[this.pos++];
  }

  private u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  private i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  private u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  private u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.need(Number.MAX_SAFE_INTEGER);
    return Number(v);
  }

  /** A copy, so byte strings never alias the (possibly huge) input and numeric data views stay aligned. */
  private take(n: number): Uint8Array {
    this.need(n);
    const out = new Uint8Array(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  private utf8(n: number): string {
    this.need(n);
    const s = new TextDecoder('utf-8').decode(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }

  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.need(this.bytes.length - this.pos + 1);
    const s = latin1(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }

  private push(v: unknown): void {
    this.stack.push(v);
  }

  private pop(): unknown {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack.pop();
  }

  private top(): unknown {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack[this.stack.length - 1];
  }

  private popMark(): unknown[] {
    const items = this.stack;
    const prev = this.metastack.pop();
    if (!prev) this.fail('MARK missing');
    this.stack = prev;
    return items;
  }

  private newList(items: unknown[] = []): unknown[] {
    this.lists.add(items);
    return items;
  }

  private newDict(): Record<string, unknown> {
    const d: Record<string, unknown> = {};
    this.dicts.add(d);
    return d;
  }

  private setItem(d: unknown, k: unknown, v: unknown): void {
    if (typeof d !== 'object' || d === null || !this.dicts.has(d)) this.fail(`SETITEM on ${describe(d)}, not a dict`);
    let key: string;
    if (typeof k === 'string') key = k;
    else if ((typeof k === 'number' && Number.isInteger(k)) || typeof k === 'bigint') key = String(k);
    else {
      throw new Error(`${this.name}: dict key ${describe(k)} is not a string or integer; only dicts with str/int keys are read (re-save with string keys)`);
    }
    // defineProperty so a "__proto__" key is stored as data instead of replacing the prototype.
    Object.defineProperty(d, key, { value: v, enumerable: true, writable: true, configurable: true });
  }

  private appendTo(list: unknown, items: unknown[]): void {
    if (Array.isArray(list) && this.lists.has(list)) {
      for (const x of items) list.push(x);
    } else if (list instanceof Set) {
      for (const x of items) list.add(x);
    } else this.fail(`APPEND to ${describe(list)}, not a list`);
  }

  private global(pickledModule: string, name: string): Global {
    // Python 3 writes builtins as __builtin__ (and copyreg as copy_reg) in protocols 0–2 and maps them back on load.
    const module = pickledModule === '__builtin__' ? 'builtins' : pickledModule === 'copy_reg' ? 'copyreg' : pickledModule;
    const full = `${module}.${name}`;
    const kind = ALLOWED_GLOBALS.get(`${module} ${name}`);
    if (!kind) throw new Error(`${this.name}: refusing to unpickle global ${full}: ${REFUSAL}`);
    return new Global(kind, full);
  }

  load(): unknown {
    const b = this.bytes;
    for (;;) {
      this.opStart = this.pos;
      if (this.pos >= b.length) {
        throw new Error(
          `${this.name}: truncated pickle: the data ends at byte ${formatCount(b.length)} before the STOP opcode; the file was cut off — re-create it`,
        );
      }
      const op = b[this.pos++];
      switch (op) {
        case 0x80: {
          // PROTO
          const v = this.u8();
          if (v > 5) this.fail(`unsupported pickle protocol ${v} (supported: 0–5)`);
          break;
        }
        case 0x95: // FRAME: frames only group opcodes for buffered reading; the opcodes follow inline.
          this.need(this.u64());
          break;
        case 0x2e: // STOP
          return this.finish(this.pop());
        case 0x28: // MARK
          this.metastack.push(this.stack);
          this.stack = [];
          break;
        case 0x30: // POP
          if (this.stack.length === 0) this.popMark();
          else this.pop();
          break;
        case 0x31: // POP_MARK
          this.popMark();
          break;
        case 0x32: // DUP
          this.push(this.top());
          break;

        // --- scalars
        case 0x4e: // NONE
          this.push(null);
          break;
        case 0x88: // NEWTRUE
          this.push(true);
          break;
        case 0x89: // NEWFALSE
          this.push(false);
          break;
        case 0x4b: // BININT1
          this.push(this.u8());
          break;
        case 0x4d: // BININT2
          this.push(this.u16());
          break;
        case 0x4a: // BININT
          this.push(this.i32());
          break;
        case 0x8a: // LONG1
          this.push(this.long(this.u8()));
          break;
        case 0x8b: {
          // LONG4
          const n = this.i32();
          if (n < 0) this.fail('negative LONG4 length');
          this.push(this.long(n));
          break;
        }
        case 0x49: {
          // INT (protocol 0): also spells True/False as 01/00
          const s = this.line().trim();
          if (s === '01') this.push(true);
          else if (s === '00') this.push(false);
          else this.push(this.parseInt(s));
          break;
        }
        case 0x4c: // LONG (protocol 0): decimal with a trailing L
          this.push(this.parseInt(this.line().trim().replace(/L$/, '')));
          break;
        case 0x46: // FLOAT (protocol 0)
          this.push(this.parseFloat(this.line().trim()));
          break;
        case 0x47: {
          // BINFLOAT: big-endian double
          this.need(8);
          this.push(this.view.getFloat64(this.pos, false));
          this.pos += 8;
          break;
        }

        // --- strings and bytes
        case 0x58: // BINUNICODE
          this.push(this.utf8(this.u32()));
          break;
        case 0x8c: // SHORT_BINUNICODE
          this.push(this.utf8(this.u8()));
          break;
        case 0x8d: // BINUNICODE8
          this.push(this.utf8(this.u64()));
          break;
        case 0x56: // UNICODE (protocol 0, raw-unicode-escape)
          this.push(decodeRawUnicodeEscape(this.line()));
          break;
        // Python 2 str: kept as a latin-1 string (numpy accepts it as array bytes too).
        case 0x53: // STRING
          this.push(this.decodeStringRepr(this.line()));
          break;
        case 0x54: // BINSTRING
          this.push(latin1(this.take(this.i32())));
          break;
        case 0x55: // SHORT_BINSTRING
          this.push(latin1(this.take(this.u8())));
          break;
        case 0x42: // BINBYTES
          this.push(this.take(this.u32()));
          break;
        case 0x43: // SHORT_BINBYTES
          this.push(this.take(this.u8()));
          break;
        case 0x8e: // BINBYTES8
          this.push(this.take(this.u64()));
          break;
        case 0x96: // BYTEARRAY8
          this.push(this.take(this.u64()));
          break;
        case 0x97: // NEXT_BUFFER
          this.fail('the pickle refers to out-of-band buffers (protocol 5 buffer_callback), which are not plain data');
          break;
        case 0x98: // READONLY_BUFFER
          break;

        // --- containers
        case 0x5d: // EMPTY_LIST
          this.push(this.newList());
          break;
        case 0x6c: // LIST
          this.push(this.newList(this.popMark()));
          break;
        case 0x61: {
          // APPEND
          const v = this.pop();
          this.appendTo(this.top(), [v]);
          break;
        }
        case 0x65: {
          // APPENDS
          const items = this.popMark();
          this.appendTo(this.top(), items);
          break;
        }
        case 0x29: // EMPTY_TUPLE
          this.push([]);
          break;
        case 0x74: // TUPLE
          this.push(this.popMark());
          break;
        case 0x85: // TUPLE1
          this.push([this.pop()]);
          break;
        case 0x86: {
          // TUPLE2
          const b2 = this.pop();
          this.push([this.pop(), b2]);
          break;
        }
        case 0x87: {
          // TUPLE3
          const c3 = this.pop();
          const b3 = this.pop();
          this.push([this.pop(), b3, c3]);
          break;
        }
        case 0x7d: // EMPTY_DICT
          this.push(this.newDict());
          break;
        case 0x64: {
          // DICT
          const items = this.popMark();
          const d = this.newDict();
          this.setItems(d, items);
          this.push(d);
          break;
        }
        case 0x73: {
          // SETITEM
          const v = this.pop();
          const k = this.pop();
          this.setItem(this.top(), k, v);
          break;
        }
        case 0x75: {
          // SETITEMS
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        }
        case 0x8f: // EMPTY_SET
          this.push(new Set());
          break;
        case 0x90: {
          // ADDITEMS
          const items = this.popMark();
          const s = this.top();
          if (!(s instanceof Set)) this.fail(`ADDITEMS on ${describe(s)}, not a set`);
          for (const x of items) s.add(x);
          break;
        }
        case 0x91: // FROZENSET
          this.push(new Set(this.popMark()));
          break;

        // --- memo
        case 0x67: // GET
          this.push(this.memoGet(this.parseIndex(this.line())));
          break;
        case 0x68: // BINGET
          this.push(this.memoGet(this.u8()));
          break;
        case 0x6a: // LONG_BINGET
          this.push(this.memoGet(this.u32()));
          break;
        case 0x70: // PUT
          this.memoPut(this.parseIndex(this.line()), this.top());
          break;
        case 0x71: // BINPUT
          this.memoPut(this.u8(), this.top());
          break;
        case 0x72: // LONG_BINPUT
          this.memoPut(this.u32(), this.top());
          break;
        case 0x94: // MEMOIZE
          this.memoPut(this.memoCount, this.top());
          break;

        // --- globals and object construction: whitelist only, interpreted here
        case 0x63: {
          // GLOBAL
          const module = this.line();
          this.push(this.global(module, this.line()));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const n = this.pop();
          const m = this.pop();
          if (typeof m !== 'string' || typeof n !== 'string') this.fail('STACK_GLOBAL needs two strings');
          this.push(this.global(m as string, n as string));
          break;
        }
        case 0x52: {
          // REDUCE
          const args = this.pop();
          this.push(this.call(this.pop(), args));
          break;
        }
        case 0x81: {
          // NEWOBJ
          const args = this.pop();
          this.push(this.call(this.pop(), args));
          break;
        }
        case 0x92: {
          // NEWOBJ_EX
          const kwargs = this.pop();
          const args = this.pop();
          const cls = this.pop();
          if (typeof kwargs !== 'object' || kwargs === null || Object.keys(kwargs).length > 0) this.fail('NEWOBJ_EX with keyword arguments');
          this.push(this.call(cls, args));
          break;
        }
        case 0x62: {
          // BUILD
          const state = this.pop();
          this.build(this.top(), state);
          break;
        }
        case 0x69: {
          // INST (protocol 0 class instance): never plain data, but name the class in the refusal.
          const module = this.line();
          const g = this.global(module, this.line());
          this.fail(`INST of ${g.fullName} is not supported`);
          break;
        }
        case 0x6f: {
          // OBJ
          const items = this.popMark();
          this.fail(`OBJ of ${describe(items[0])} is not supported`);
          break;
        }
        case 0x50: // PERSID
        case 0x51: // BINPERSID
          this.fail('persistent ids (references to objects outside the pickle) are not plain data');
          break;
        case 0x82: // EXT1
        case 0x83: // EXT2
        case 0x84: // EXT4
          this.fail('extension-registry globals are not plain data');
          break;
        default:
          this.fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')}; this is not a pickle, or it is corrupt`);
      }
    }
  }

  private intLimit(what: string): never {
    throw new LimitError(
      `${this.name}: pickle integer at byte ${formatCount(this.opStart)} is ${what}, over the limit of ${this.maxIntBytes} bytes (${8 * this.maxIntBytes} bits); ` +
        'plain data does not hold integers that large (a fixed limit of the reader; library callers can raise it with the unpickle option maxIntBytes)',
    );
  }

  /** Little-endian two's complement, converted in one step (a shift-and-or loop is quadratic in the length). */
  private long(n: number): number | bigint {
    if (n > this.maxIntBytes) this.intLimit(`${formatCount(n)} bytes long`);
    const bytes = this.take(n);
    if (n === 0) return 0;
    let hex = '';
    for (let i = n - 1; i >= 0; i--) hex += bytes[i].toString(16).padStart(2, '0');
    let v = BigInt(`0x${hex}`);
    if (bytes[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return normaliseInt(v);
  }

  private parseInt(s: string): number | bigint {
    if (!/^[+-]?\d+$/.test(s)) this.fail(`bad integer ${excerpt(s)}`);
    // log10(256) ≈ 2.41 decimal digits per byte: the same magnitude limit as LONG1/LONG4.
    if (s.length > Math.ceil(this.maxIntBytes * 2.41) + 1) this.intLimit(`${formatCount(s.length)} decimal digits long`);
    return normaliseInt(BigInt(s));
  }

  private parseFloat(s: string): number {
    const special: Record<string, number> = { inf: Infinity, '-inf': -Infinity, nan: NaN, '-nan': NaN };
    if (s.toLowerCase() in special) return special[s.toLowerCase()];
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) this.fail(`bad float ${excerpt(s)}`);
    return Number(s);
  }

  private parseIndex(s: string): number {
    if (!/^\d+$/.test(s)) this.fail(`bad memo index ${excerpt(s)}`);
    return Number(s);
  }

  private memoGet(i: number): unknown {
    const v = this.memo[i];
    if (v === undefined) this.fail(`memo entry ${i} is not defined`);
    return v;
  }

  private setItems(d: unknown, items: unknown[]): void {
    if (items.length % 2 !== 0) this.fail('odd number of items for a dict');
    for (let i = 0; i < items.length; i += 2) this.setItem(d, items[i], items[i + 1]);
  }

  /** Python 2 str repr as written by protocol 0 STRING: quoted, with backslash escapes. */
  private decodeStringRepr(s: string): string {
    const q = s[0];
    if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) this.fail('STRING is not quoted');
    const body = s.slice(1, -1);
    const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '\n': '' };
    let out = '';
    for (let i = 0; i < body.length; i++) {
      const c = body[i];
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = body[++i];
      if (e in simple) out += simple[e];
      else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 1, i + 3))) {
        out += String.fromCharCode(parseInt(body.slice(i + 1, i + 3), 16));
        i += 2;
      } else if (/[0-7]/.test(e)) {
        const m = /^[0-7]{1,3}/.exec(body.slice(i))![0];
        out += String.fromCharCode(parseInt(m, 8) & 0xff);
        i += m.length - 1;
      } else out += `\\${e ?? ''}`;
    }
    return out;
  }

  // --- the whitelist, interpreted

  private call(func: unknown, args: unknown): unknown {
    if (!(func instanceof Global)) this.fail(`cannot call ${describe(func)}`);
    const g = func as Global;
    if (!Array.isArray(args)) this.fail(`arguments of ${g.fullName} are not a tuple`);
    const a = args as unknown[];
    const bad = (what: string): never => this.fail(`${g.fullName}: ${what}`);
    switch (g.kind) {
      case 'dtype': {
        if (typeof a[0] !== 'string') return bad('type code is not a string');
        const t = parseTypeString(a[0] as string);
        if (!t) return bad(`unknown type code ${excerpt(a[0] as string)}`);
        return new Dtype(t);
      }
      case 'reconstruct':
        if (!(a[0] instanceof Global) || a[0].kind !== 'ndarray') return bad('only numpy.ndarray can be reconstructed');
        return new ArrayStub();
      case 'scalar': {
        if (!(a[0] instanceof Dtype)) return bad('first argument is not a dtype');
        const t = (a[0] as Dtype).type;
        if (t.kind === 'O') return a[1];
        return this.array([], t, false, a[1], g.fullName, true);
      }
      case 'frombuffer': {
        const [buf, dt, shape, order] = a;
        if (!(dt instanceof Dtype)) return bad('second argument is not a dtype');
        return this.array(this.shape(shape, g.fullName), dt.type, order === 'F', buf, g.fullName);
      }
      case 'ordereddict': {
        const d = this.newDict();
        if (a.length === 0) return d;
        if (!Array.isArray(a[0])) return bad('argument is not a list of pairs');
        for (const pair of a[0] as unknown[]) {
          if (!Array.isArray(pair) || pair.length !== 2) return bad('argument is not a list of pairs');
          this.setItem(d, pair[0], pair[1]);
        }
        return d;
      }
      case 'set':
      case 'frozenset':
        if (a.length === 0) return new Set();
        if (!Array.isArray(a[0])) return bad('argument is not a list');
        return new Set(a[0] as unknown[]);
      case 'bytes':
        if (a.length !== 0) return bad('only bytes() with no arguments is accepted');
        return new Uint8Array(0);
      case 'encode':
        if (typeof a[0] !== 'string' || !['latin1', 'latin-1', 'iso-8859-1'].includes(String(a[1]).toLowerCase())) {
          return bad('only _codecs.encode(str, "latin1") is accepted');
        }
        return this.bytesOf(a[0], g.fullName);
      case 'ndarray':
        return bad('numpy.ndarray can only be used through numpy.core.multiarray._reconstruct');
    }
  }

  private build(inst: unknown, state: unknown): void {
    if (inst instanceof Dtype) {
      // (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
      if (!Array.isArray(state) || state.length < 8) this.fail('numpy dtype state is not the expected tuple');
      const s = state as unknown[];
      if (s[2] !== null || s[3] !== null || s[4] !== null) {
        throw new Error(`${this.name}: structured (record) or sub-array numpy dtypes are not supported; save plain arrays`);
      }
      const order = s[1];
      if (order !== '<' && order !== '>' && order !== '|' && order !== '=') this.fail(`numpy dtype byte order ${describe(order)}`);
      inst.type = { ...inst.type, byteOrder: order };
      // Flexible types (unicode) carry their item size in the state: 4 bytes per character.
      const elsize = s[5];
      if (inst.type.kind === 'U' && typeof elsize === 'number' && elsize > 0) inst.type = { ...inst.type, size: elsize / 4 };
      return;
    }
    if (inst instanceof ArrayStub) {
      // (version, shape, dtype, is_fortran, rawdata), or without the version in old pickles.
      if (!Array.isArray(state) || (state.length !== 5 && state.length !== 4)) this.fail('numpy array state is not the expected tuple');
      const s = (state as unknown[]).length === 5 ? (state as unknown[]).slice(1) : (state as unknown[]);
      const [shape, dt, fortran, raw] = s;
      if (!(dt instanceof Dtype)) this.fail('numpy array state has no dtype');
      inst.value = this.array(this.shape(shape, 'numpy array'), (dt as Dtype).type, fortran === true, raw, 'numpy array');
      inst.built = true;
      return;
    }
    this.fail(`BUILD (setting object state) on ${describe(inst)} is not plain data`);
  }

  private shape(v: unknown, what: string): number[] {
    if (!Array.isArray(v) || v.length > MAX_DIMS || !v.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
      this.fail(`${what}: shape is not a tuple of non-negative integers`);
    }
    const shape = v as number[];
    if (!Number.isSafeInteger(product(shape))) this.fail(`${what}: shape ${shape.join('×')} is too large`);
    return shape;
  }

  private bytesOf(raw: unknown, what: string): Uint8Array {
    if (raw instanceof Uint8Array) return raw;
    if (typeof raw === 'string') {
      const out = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i++) {
        const c = raw.charCodeAt(i);
        if (c > 255) this.fail(`${what}: data string is not latin-1`);
        out[i] = c;
      }
      return out;
    }
    return this.fail(`${what}: data is ${describe(raw)}, not bytes`);
  }

  /** Decode array data of any supported dtype into its JS value; `scalar`: a numpy scalar, not a 0-d array. */
  private array(shape: number[], t: ElementType, fortran: boolean, raw: unknown, what: string, scalar = false): unknown {
    const count = product(shape);
    // Nested JS arrays cost ~8 heap bytes per element, and a zero-size item type (<U0) lets a tiny buffer declare
    // any number of them.
    if (t.kind === 'O' || t.kind === 'U') checkAllocation(`the ${formatShape(shape)} ${t.code} array`, count * 8, this.name, true);
    if (t.kind === 'O') {
      // Object arrays pickle their elements as a flat list in C order whatever the memory layout.
      if (!Array.isArray(raw) || raw.length !== count) this.fail(`${what}: object array data is not a list of ${count} elements`);
      return nest(raw as unknown[], shape);
    }
    const bytes = this.bytesOf(raw, what);
    if (t.kind === 'U') {
      const itemBytes = 4 * t.size;
      if (bytes.length !== count * itemBytes)
        this.fail(`${what}: ${shape.join('×') || 'scalar'} <U${t.size} needs ${count * itemBytes} bytes, got ${bytes.length}`);
      const strings = decodeUtf32(bytes, t.size, t.byteOrder === '>' ? false : t.byteOrder === '<' ? true : undefined);
      if (strings === undefined) this.fail(`${what}: invalid code point in a unicode array`);
      return nest(fortran ? fortranToC(strings!, shape) : strings!, shape);
    }
    const dtype = numericDType(t);
    if (!dtype) throw new Error(`${this.name}: unsupported numpy dtype ${t.code} (supported: float, int, uint, bool, unicode <U, object)`);
    if (bytes.length !== count * t.size) this.fail(`${what}: ${shape.join('×') || 'scalar'} ${t.code} needs ${count * t.size} bytes, got ${bytes.length}`);
    const decoded = decodeElements(bytes, t);
    if (scalar) {
      const v = decoded.data[0];
      if (dtype === 'bool') return v !== 0;
      return typeof v === 'bigint' ? normaliseInt(v) : v;
    }
    return { dtype: decoded.dtype, shape, data: fortran ? fortranToC(decoded.data, shape) : decoded.data };
  }

  /**
   * Replace array stubs by their arrays and dtypes by their type strings, everywhere in the result (the memo can
   * share a stub between several containers), and check the shape of the whole: no reference cycles, nesting no
   * deeper than maxDepth, and not more values than the memory budget holds once shared references are copied
   * (which JSON output or any deep copy does). One iterative post-order walk visits each container once, so deep
   * or widely shared data costs neither stack nor time.
   */
  private finish(root: unknown): unknown {
    const resolve = (v: unknown): unknown => {
      while (v instanceof ArrayStub) {
        if (!v.built) this.fail('a numpy array was reconstructed but never given its data (BUILD)');
        v = v.value;
      }
      if (v instanceof Dtype) return `${v.type.byteOrder === '=' ? '' : v.type.byteOrder}${v.type.code}`;
      if (v instanceof Global) this.fail(`${v.fullName} appears as a value; only its results are plain data`);
      return v;
    };
    const isContainer = (v: unknown): v is object => typeof v === 'object' && v !== null && (Array.isArray(v) || v instanceof Set || this.dicts.has(v));
    const childrenOf = (v: object): unknown[] => {
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) v[i] = resolve(v[i]);
        return v;
      }
      if (v instanceof Set) {
        const items = [...v].map(resolve);
        v.clear();
        for (const x of items) v.add(x);
        return items;
      }
      const d = v as Record<string, unknown>;
      const keys = Object.keys(d);
      for (const k of keys) d[k] = resolve(d[k]);
      return keys.map((k) => d[k]);
    };
    const kindOf = (v: object): string => (Array.isArray(v) ? 'list' : v instanceof Set ? 'set' : 'dict');
    // Per finished container: its height (levels of nesting inside it) and its size once expanded (saturating).
    const done = new Map<object, { height: number; size: number }>();
    const onPath = new Set<object>();
    type Frame = { node: object; kids: unknown[]; next: number; height: number; size: number };
    const frames: Frame[] = [];
    const tooDeep = (): never => {
      throw new LimitError(
        `${this.name}: containers nested more than ${formatCount(this.maxDepth)} levels deep; plain data is not nested that deeply (a fixed limit of the reader; library callers can raise it with the unpickle option maxDepth)`,
      );
    };
    const enter = (node: object) => {
      if (frames.length >= this.maxDepth) tooDeep();
      onPath.add(node);
      const kids = childrenOf(node);
      stored += kids.length;
      frames.push({ node, kids, next: 0, height: 1, size: 1 });
    };
    const out = resolve(root);
    // Values as stored (each container once) and as expanded; they differ only where references are shared.
    let stored = 1;
    let total = 1;
    if (isContainer(out)) enter(out);
    while (frames.length > 0) {
      const f = frames[frames.length - 1];
      if (f.next < f.kids.length) {
        const c = f.kids[f.next++];
        if (!isContainer(c)) {
          f.size = Math.min(f.size + 1, Number.MAX_SAFE_INTEGER);
          continue;
        }
        if (onPath.has(c)) {
          throw new Error(`${this.name}: the pickle holds a reference cycle (a ${kindOf(c)} that contains itself); only tree-shaped plain data is read`);
        }
        const known = done.get(c);
        if (known === undefined) {
          enter(c);
          continue;
        }
        if (frames.length + known.height > this.maxDepth) tooDeep();
        f.height = Math.max(f.height, known.height + 1);
        f.size = Math.min(f.size + known.size, Number.MAX_SAFE_INTEGER);
        continue;
      }
      frames.pop();
      onPath.delete(f.node);
      done.set(f.node, { height: f.height, size: f.size });
      const parent = frames[frames.length - 1];
      if (parent) {
        parent.height = Math.max(parent.height, f.height + 1);
        parent.size = Math.min(parent.size + f.size, Number.MAX_SAFE_INTEGER);
      } else total = f.size;
    }
    // Each value copied out costs at least a pointer and a header: 16 bytes is a floor.
    if (total > stored) {
      const expanded = total >= Number.MAX_SAFE_INTEGER ? `more than ${formatCount(total)}` : formatCount(total);
      checkAllocation(
        `copying it out (its shared references expand ${formatCount(stored)} stored values to ${expanded}, a "billion laughs" pickle)`,
        total * 16,
        this.name,
      );
    }
    return out;
  }
}

/** Fixed-width UTF-32 strings with trailing NULs stripped (numpy's str_); undefined on an invalid code point. */
function decodeUtf32(bytes: Uint8Array, chars: number, littleEndian: boolean | undefined): string[] | undefined {
  const le = littleEndian ?? HOST_LITTLE_ENDIAN;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = chars === 0 ? 0 : bytes.length / (4 * chars);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const cps: number[] = [];
    for (let j = 0; j < chars; j++) {
      const cp = view.getUint32(4 * (i * chars + j), le);
      if (cp > 0x10ffff) return undefined;
      cps.push(cp);
    }
    while (cps.length > 0 && cps[cps.length - 1] === 0) cps.pop();
    out.push(String.fromCodePoint(...cps));
  }
  return out;
}

/** Protocol 0 UNICODE: latin-1 text where only \uXXXX and \UXXXXXXXX are escapes. */
function decodeRawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u: string | undefined, U: string | undefined) =>
    String.fromCodePoint(parseInt((u ?? U)!, 16)),
  );
}
