/**
 * Labelled matrices on disk: similarity matrices, ground-truth transfer matrices, RDMs.
 *
 * Formats (chosen by extension):
 *   .json  {"rows", "cols", "matrix": [[...]], "measure"?}, null for NaN; or a Taskonomy result dict, read as its
 *          first-order transfer matrix (rows = sources, cols = targets).
 *   .csv   a header row (first cell ignored, then the column labels), then one row per label: label, values.
 *          Empty / NaN / nan / NA / null cells are NaN; inf / Infinity (signed) are ±Infinity.
 *   .npy   a 2-d numeric array; the labels come from `opts.labels` (square matrices: rows = cols = labels) or
 *          from the sidecar `<file>.npy.labels.json` = {"rows", "cols", "measure"?}, which the writer creates.
 *   .pkl   a Taskonomy result dict (restricted unpickler), read as its first-order transfer matrix; or an
 *          rsatoolbox RDMs pickle (`RDMs.save(f, file_type='pkl')`) holding one RDM (rsatoolbox.ts).
 *   .hdf5 / .h5  an rsatoolbox RDMs file (`RDMs.save(f, file_type='hdf5')`) holding one RDM.
 */
import { createHash } from 'node:crypto';
import { extname } from 'node:path';
import type { Matrix } from '../linalg/dense.js';
import type { LabelledMatrix, LabelledMatrixJson } from '../linalg/labelled.js';
import { writeFilesAtomic, type OutputFile } from './atomic.js';
import { readInputFile, readInputText } from './input.js';
import { checkAllocation, excerpt } from './limits.js';
import { formatCount, readNpy, writeNpy } from './npy.js';
import { unpickle } from './pickle.js';
import { firstOrderMatrix, LABELLED_MATRIX_BYTES_PER_CELL, validateResultDict } from './resultDict.js';
import { isRsatoolboxDict, readRsatoolboxRdms, rsatoolboxFromDict, singleRdm } from './rsatoolbox.js';

export type LabelledMatrixFormat = 'json' | 'csv' | 'npy';

export interface ReadLabelledMatrixOptions {
  /** Row and column labels of a square `.npy` matrix (instead of its sidecar). Only for `.npy`. */
  labels?: string[];
}

/** Where the labels of `file.npy` live: `file.npy.labels.json`. */
export function labelsSidecarPath(npyPath: string): string {
  return `${npyPath}.labels.json`;
}

/** Check labels against the matrix size and for duplicates (lookups by label would be ambiguous). */
function checkLabelled(m: LabelledMatrix, name: string): LabelledMatrix {
  const { rows, cols, matrix } = m;
  if (matrix.rows !== rows.length || matrix.cols !== cols.length) {
    throw new Error(`${name}: ${rows.length} row labels and ${cols.length} column labels for a ${matrix.rows}×${matrix.cols} matrix`);
  }
  if (matrix.data.length !== matrix.rows * matrix.cols)
    throw new Error(`${name}: matrix data has ${matrix.data.length} values, expected ${matrix.rows * matrix.cols}`);
  for (const [what, labels] of [
    ['row', rows],
    ['column', cols],
  ] as const) {
    const seen = new Set<string>();
    for (const l of labels) {
      if (typeof l !== 'string') throw new Error(`${name}: ${what} label ${JSON.stringify(l)} is not a string`);
      if (seen.has(l)) throw new Error(`${name}: duplicate ${what} label "${l}"; labels must be unique`);
      seen.add(l);
    }
  }
  return m;
}

export function labelledMatrixToJson(m: LabelledMatrix, name = 'labelled matrix'): LabelledMatrixJson {
  const matrix: (number | null)[][] = [];
  for (let i = 0; i < m.matrix.rows; i++) {
    const row: (number | null)[] = [];
    for (let j = 0; j < m.matrix.cols; j++) {
      const v = m.matrix.data[i * m.matrix.cols + j];
      if (v === Infinity || v === -Infinity) {
        throw new Error(`${name}: matrix[${i}][${j}] (${m.rows[i]}, ${m.cols[j]}) is ${v}, which JSON cannot hold; write .csv or .npy instead`);
      }
      row.push(Number.isNaN(v) ? null : v);
    }
    matrix.push(row);
  }
  const out: LabelledMatrixJson = { rows: [...m.rows], cols: [...m.cols], matrix };
  if (m.measure !== undefined) out.measure = m.measure;
  return out;
}

/** Validate a parsed {"rows","cols","matrix","measure"?} value (null → NaN); `name` prefixes errors. */
export function labelledMatrixFromJson(json: unknown, name = 'labelled matrix'): LabelledMatrix {
  const bad = (what: string): never => {
    throw new Error(`${name}: ${what}; expected {"rows": [labels], "cols": [labels], "matrix": [[numbers or null]]}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return bad('not a JSON object');
  const { rows, cols, matrix, measure } = json as Record<string, unknown>;
  if (!Array.isArray(rows) || !Array.isArray(cols)) return bad('"rows" and "cols" must be arrays of labels');
  if (!Array.isArray(matrix) || matrix.length !== rows.length) return bad(`"matrix" must have ${rows.length} rows (one per row label)`);
  if (measure !== undefined && typeof measure !== 'string') return bad('"measure" must be a string');
  // Every row is checked before the dense matrix is allocated: label lists are cheap to declare, rows×cols is not.
  matrix.forEach((row: unknown, i) => {
    if (!Array.isArray(row) || row.length !== cols.length) return bad(`matrix[${i}] must have ${cols.length} values (one per column label)`);
  });
  checkMatrixSize(rows.length, cols.length, name);
  const m: Matrix = { rows: rows.length, cols: cols.length, data: new Float64Array(rows.length * cols.length) };
  matrix.forEach((row: unknown[], i) => {
    row.forEach((v: unknown, j) => {
      if (v === null) m.data[i * cols.length + j] = Number.NaN;
      else if (typeof v === 'number') m.data[i * cols.length + j] = v;
      else bad(`matrix[${i}][${j}] is ${JSON.stringify(v)}, not a number or null`);
    });
  });
  const out: LabelledMatrix = { rows: rows as string[], cols: cols as string[], matrix: m };
  if (measure !== undefined) out.measure = measure;
  return checkLabelled(out, name);
}

// ---------------------------------------------------------------------------------------------------------------
// CSV (RFC 4180: quoted fields may hold commas, quotes as "", and newlines)

/** RFC 4180 records (BOM, CRLF and blank lines handled); shared with readers of other CSV inputs (rank labels). */
export function parseCsv(text: string, name: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      if (c === '\r' && text[i + 1] === '\n') i++;
    } else field += c;
    i++;
  }
  if (quoted) throw new Error(`${name}: unterminated quoted field at the end of the file; the file is truncated or a quote is unbalanced`);
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  // Blank lines (typically the trailing newline) carry no data.
  return records.filter((r) => !(r.length === 1 && r[0].trim() === ''));
}

const NAN_CELLS = new Set(['', 'nan', 'na', 'null', 'none']);

/**
 * Plain decimal numbers only: Number() alone would accept "", " ", "0x10", "0b1", "0o7" and "1_0"-like surprises.
 * The one number syntax of every CSV input (matrices and losses), so a value means the same in both.
 */
export function parseDecimal(text: string): number | undefined {
  const s = text.trim();
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) ? Number(s) : undefined;
}

/** Refuse a rows × cols float64 matrix over the memory budget (with what its consumers render from it). */
function checkMatrixSize(rows: number, cols: number, name: string): void {
  checkAllocation(`the ${formatCount(rows)}×${formatCount(cols)} matrix`, rows * cols * LABELLED_MATRIX_BYTES_PER_CELL, name);
}

function parseCell(cell: string, where: () => string): number {
  const s = cell.trim();
  const lower = s.toLowerCase();
  if (NAN_CELLS.has(lower)) return Number.NaN;
  if (/^[+]?(inf|infinity)$/.test(lower)) return Infinity;
  if (/^-(inf|infinity)$/.test(lower)) return -Infinity;
  const v = parseDecimal(s);
  if (v === undefined) throw new Error(`${where()}: ${cell.length > 80 ? excerpt(cell) : `"${cell}"`} is not a number`);
  return v;
}

export function labelledMatrixFromCsv(text: string, name: string): LabelledMatrix {
  const records = parseCsv(text, name);
  if (records.length === 0) throw new Error(`${name}: empty CSV; expected a header row of column labels, then one row per label`);
  const cols = records[0].slice(1);
  const rows: string[] = [];
  // Every record is checked before the dense matrix is allocated (a long header is cheap to write, rows×cols is not).
  for (let r = 1; r < records.length; r++) {
    const rec = records[r];
    if (rec.length !== cols.length + 1) {
      throw new Error(`${name}: record ${r + 1} has ${rec.length} fields, expected ${cols.length + 1} (a label and ${cols.length} values, as in the header)`);
    }
  }
  checkMatrixSize(records.length - 1, cols.length, name);
  const m: Matrix = { rows: records.length - 1, cols: cols.length, data: new Float64Array((records.length - 1) * cols.length) };
  for (let r = 1; r < records.length; r++) {
    const rec = records[r];
    rows.push(rec[0]);
    for (let j = 0; j < cols.length; j++) m.data[(r - 1) * cols.length + j] = parseCell(rec[j + 1], () => `${name}: record ${r + 1}, column "${cols[j]}"`);
  }
  return checkLabelled({ rows, cols, matrix: m }, name);
}

function csvField(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvNumber(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : String(v);
}

export function labelledMatrixToCsv(m: LabelledMatrix): string {
  const lines = [['', ...m.cols].map(csvField).join(',')];
  for (let i = 0; i < m.matrix.rows; i++) {
    const values = Array.from(m.matrix.data.subarray(i * m.matrix.cols, (i + 1) * m.matrix.cols), csvNumber);
    lines.push([csvField(m.rows[i]), ...values].join(','));
  }
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------------------------
// Files

function formatOf(path: string): string {
  return extname(path).toLowerCase().slice(1);
}

async function readNpyMatrix(path: string, labels: string[] | undefined): Promise<LabelledMatrix> {
  const bytes = await readInputFile(path, 'a matrix');
  const arr = readNpy(bytes, path);
  if (arr.shape.length !== 2) throw new Error(`${path}: expected a 2-d matrix, found shape ${arr.shape.join('×') || 'scalar'}`);
  const [r, c] = arr.shape;
  if (!(arr.data instanceof Float64Array)) checkAllocation(`converting the ${r}×${c} ${arr.dtype} matrix to float64`, r * c * 8, path);
  const data = arr.data instanceof Float64Array ? arr.data : Float64Array.from(arr.data as ArrayLike<number | bigint>, Number);
  const matrix: Matrix = { rows: r, cols: c, data };
  if (labels) {
    if (r !== c || labels.length !== r)
      throw new Error(`${path}: ${labels.length} labels given for a ${r}×${c} matrix; labels name the rows and columns of a square matrix`);
    return checkLabelled({ rows: [...labels], cols: [...labels], matrix }, path);
  }
  const sidecar = labelsSidecarPath(path);
  let text: string;
  try {
    text = await readInputText(sidecar);
  } catch (e) {
    if (!/: no such file/.test((e as Error).message)) throw e;
    throw new Error(`${path}: a .npy matrix has no labels of its own; pass the labels, or put {"rows": [...], "cols": [...]} in ${sidecar}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${sidecar}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  const side = (Array.isArray(json) ? { rows: json, cols: json } : json) as Record<string, unknown>;
  if (typeof side !== 'object' || side === null || !Array.isArray(side.rows) || !Array.isArray(side.cols)) {
    throw new Error(`${sidecar}: expected {"rows": [labels], "cols": [labels], "measure"?} or a list of labels`);
  }
  // The writer records the digest of the data it labelled; a mismatch means the pair was torn apart (a crash
  // between the two renames, or one file replaced by hand), and pairing old data with new labels would be silent.
  if (typeof side.sha256 === 'string' && side.sha256 !== createHash('sha256').update(bytes).digest('hex')) {
    throw new Error(
      `${sidecar}: these labels were written for different data than ${path} now holds (an interrupted write or a replaced file); write the matrix again`,
    );
  }
  const out: LabelledMatrix = { rows: side.rows as string[], cols: side.cols as string[], matrix };
  if (typeof side.measure === 'string') out.measure = side.measure;
  return checkLabelled(out, `${path} (labels from ${sidecar})`);
}

export async function readLabelledMatrix(path: string, opts: ReadLabelledMatrixOptions = {}): Promise<LabelledMatrix> {
  const format = formatOf(path);
  if (opts.labels && format !== 'npy') throw new Error(`${path}: labels can only be given for a .npy matrix; .${format} files carry their own`);
  switch (format) {
    case 'json': {
      const text = await readInputText(path, 'a labelled matrix');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw new Error(`${path}: not valid JSON (${(e as Error).message})`, { cause: e });
      }
      if (typeof json === 'object' && json !== null && 'matrix' in json) return labelledMatrixFromJson(json, path);
      return checkLabelled(firstOrderMatrix(validateResultDict(json, `${path} (neither {"rows","cols","matrix"} nor a result dict)`), { name: path }), path);
    }
    case 'csv':
      return labelledMatrixFromCsv(await readInputText(path, 'a labelled matrix'), path);
    case 'npy':
      return readNpyMatrix(path, opts.labels);
    case 'pkl':
    case 'pickle': {
      const value = unpickle(await readInputFile(path, 'a labelled matrix'), path);
      if (isRsatoolboxDict(value)) return checkLabelled(singleRdm(rsatoolboxFromDict(value, path), path), path);
      return checkLabelled(firstOrderMatrix(validateResultDict(value, path), { name: path }), path);
    }
    case 'h5':
    case 'hdf5':
      return checkLabelled(singleRdm(await readRsatoolboxRdms(path), path), path);
    default:
      throw new Error(
        `${path}: unsupported matrix format "${extname(path)}"; use .json, .csv, .npy (+ labels), a Taskonomy .pkl or an rsatoolbox RDM (.hdf5 / .pkl)`,
      );
  }
}

function matrixJsonText(m: LabelledMatrix, name: string): string {
  const j = labelledMatrixToJson(m, name);
  // One matrix row per line: readable, diffable, and still plain JSON.
  const rows = j.matrix.map((r) => `    ${JSON.stringify(r)}`).join(',\n');
  const measure = j.measure !== undefined ? `,\n  "measure": ${JSON.stringify(j.measure)}` : '';
  return `{\n  "rows": ${JSON.stringify(j.rows)},\n  "cols": ${JSON.stringify(j.cols)},\n  "matrix": [\n${rows}\n  ]${measure}\n}\n`;
}

/**
 * The file(s) that hold `m` at `path`: JSON (NaN → null; ±Infinity is refused), CSV (NaN, Infinity spelled out) or
 * float64 .npy with its labels in `<file>.npy.labels.json`. The format defaults to the extension. For .npy the
 * sidecar comes first and carries the data's digest, so that committing the pair in order can never leave new
 * labels silently paired with old data.
 */
export function labelledMatrixFiles(path: string, m: LabelledMatrix, format?: LabelledMatrixFormat): OutputFile[] {
  const fmt = format ?? formatOf(path);
  checkLabelled(m, path);
  switch (fmt) {
    case 'json':
      return [{ path, data: matrixJsonText(m, path) }];
    case 'csv':
      return [{ path, data: labelledMatrixToCsv(m) }];
    case 'npy': {
      const npy = writeNpy({ dtype: 'float64', shape: [m.matrix.rows, m.matrix.cols], data: m.matrix.data });
      const side: Record<string, unknown> = { rows: m.rows, cols: m.cols };
      if (m.measure !== undefined) side.measure = m.measure;
      side.sha256 = createHash('sha256').update(npy).digest('hex');
      return [
        { path: labelsSidecarPath(path), data: JSON.stringify(side) + '\n' },
        { path, data: npy },
      ];
    }
    default:
      throw new Error(`${path}: unsupported matrix format "${fmt}"; use json, csv or npy`);
  }
}

/** Write `m` atomically (both files of a .npy matrix as one commit); see `labelledMatrixFiles`. */
export async function writeLabelledMatrix(path: string, m: LabelledMatrix, format?: LabelledMatrixFormat): Promise<void> {
  await writeFilesAtomic(labelledMatrixFiles(path, m, format));
}
