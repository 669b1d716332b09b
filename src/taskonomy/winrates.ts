/**
 * From per-image transfer losses to Taskonomy tournaments (docs/taskonomy.md#win-rates) and the Gain / Quality win rates
 * (docs/taskonomy.md#gain-and-quality).
 *
 * A tournament for target t holds, for every pair of candidate transfers (a, b) evaluated on the same test
 * images, W_t[a][b] = fraction of images on which a has the lower loss. Equal losses count ½ to each side, so
 * W[a][b] + W[b][a] = 1 and the diagonal is exactly 0.5 — the convention that reproduces the 0.5 baseline
 * entries of the published win-rate files (docs/taskonomy.md#win-rates).
 */
import { parseDecimal } from '../io/labelledMatrix.js';
import { checkAllocation, excerpt, LimitError } from '../io/limits.js';
import { canonicalKey, type ResultDict } from './results.js';

/** One measured loss: candidate `source` (a task, a pseudo-source, or a set written `a__b`) on one test image. */
export interface LossRecord {
  target: string;
  source: string;
  image: string;
  loss: number;
}

/**
 * Per-target tournament. `sources[i]` is a candidate transfer written as its sources joined by `__` (sorted,
 * so `b__a` and `a__b` are one candidate); `wins[i][j]` = fraction of images on which candidate i beats j.
 */
export interface Tournament {
  target: string;
  sources: string[];
  wins: number[][];
  /** Number of test images the fractions are over (absent when read from a tournaments JSON). */
  images?: number;
}

/** JSON form: {"<target>": {"sources": [...], "wins": [[...]]}}. */
export type TournamentsJson = Record<string, { sources: string[]; wins: number[][]; images?: number }>;

/** Pseudo-sources used as the Gain and Quality baselines (docs/taskonomy.md#gain-and-quality). */
export const GAIN_BASELINE = 'pixels';
export const QUALITY_BASELINE = 'self';

/** "b__a" → "a__b": the candidate id used throughout (source order inside a key is not meaningful, docs/taskonomy.md#result-dicts). */
export function candidateId(source: string): string {
  const parts = source.split('__');
  if (parts.some((p) => p.trim().length === 0)) throw new Error(`"${source}" is not a source or a source set "a__b"`);
  return parts.sort().join('__');
}

/**
 * JS-heap bytes of one tournament cell, measured rather than counted: the number[][] win matrix (a boxed array per
 * row), the pairwise counts while it is built, and the reciprocal matrix AHP makes of it — about 3 GB of heap for
 * 12,000² cells where 8 bytes a cell would have promised 1.2 GB. The tournament is quadratic in candidates while
 * the CSV is linear, so this is checked before building it.
 */
const TOURNAMENT_BYTES_PER_CELL = 48;

/**
 * The most candidate sources one target may have. Taskonomy has 25 tasks and higher-order sets bring it to a few
 * hundred; a tournament over thousands of sources is a mistake or an attack, and its AHP eigenvector alone would
 * take minutes. Refused before anything quadratic is built; a library caller may pass a larger `maxCandidates`.
 */
export const MAX_TOURNAMENT_CANDIDATES = 4096;

function checkTournamentSize(target: string, candidates: number, file: string, maxCandidates = MAX_TOURNAMENT_CANDIDATES): void {
  if (candidates > maxCandidates) {
    throw new LimitError(
      `${file}: target ${excerpt(target)} has ${candidates.toLocaleString('en-US')} candidate sources, over the limit of ${maxCandidates.toLocaleString('en-US')} per target ` +
        `(a tournament compares every pair); split the file by target or pass maxCandidates to parseLossCsv / tournamentsFromLosses in the library`,
    );
  }
  checkAllocation(
    `the tournament of target ${excerpt(target)} (${candidates.toLocaleString('en-US')} candidate sources, squared)`,
    candidates * candidates * TOURNAMENT_BYTES_PER_CELL,
    file,
    true,
  );
}

/** All tournaments of a file together: the per-target checks alone would let many mid-sized targets add up. */
function checkTournamentsTotal(sizes: number[], file: string): void {
  const cells = sizes.reduce((a, c) => a + c * c, 0);
  checkAllocation(
    `the ${sizes.length.toLocaleString('en-US')} tournaments (${cells.toLocaleString('en-US')} cells in all)`,
    cells * TOURNAMENT_BYTES_PER_CELL,
    file,
    true,
  );
}

/**
 * Parse a `target,source,image,loss` CSV (header required, columns in any order, extra columns ignored,
 * fields may be double-quoted). Errors name the line. Losses are plain decimals (as in every CSV input: no hex);
 * a file with a header and no records is an error, not an empty result. The number of candidate sources per
 * target is checked against the memory budget here, where the file name is known.
 */
export function parseLossCsv(text: string, file = 'losses CSV', maxCandidates = MAX_TOURNAMENT_CANDIDATES): LossRecord[] {
  const lines = text.split(/\r?\n/);
  let lineNo = 0;
  while (lineNo < lines.length && lines[lineNo].trim() === '') lineNo++;
  if (lineNo === lines.length) throw new Error(`${file}: empty file (expected a header "target,source,image,loss")`);
  const header = splitCsvLine(lines[lineNo], file, lineNo + 1).map((h) => h.trim().toLowerCase());
  const col: Record<string, number> = {};
  for (const name of ['target', 'source', 'image', 'loss']) {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`${file}: header has no "${name}" column (found: ${header.join(', ')})`);
    col[name] = i;
  }
  const out: LossRecord[] = [];
  for (let i = lineNo + 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const f = splitCsvLine(lines[i], file, i + 1);
    if (f.length < header.length) throw new Error(`${file}:${i + 1}: ${f.length} fields, header has ${header.length}`);
    const target = f[col.target].trim();
    const source = f[col.source].trim();
    const image = f[col.image].trim();
    const lossText = f[col.loss].trim();
    const loss = parseDecimal(lossText) ?? Number.NaN;
    if (target === '' || source === '' || image === '') throw new Error(`${file}:${i + 1}: empty target, source or image`);
    if (target.includes('__')) throw new Error(`${file}:${i + 1}: target "${target}" contains "__" (only sources may be sets)`);
    if (lossText === '' || !Number.isFinite(loss))
      throw new Error(`${file}:${i + 1}: loss ${lossText.length > 80 ? excerpt(lossText) : `"${lossText}"`} is not a finite number (plain decimal)`);
    if (source.split('__').some((x) => x.trim() === '')) throw new Error(`${file}:${i + 1}: "${source}" is not a source or a source set "a__b"`);
    out.push({ target, source, image, loss });
  }
  if (out.length === 0) throw new Error(`${file}: no losses after the header; expected one "target,source,image,loss" record per line`);
  const candidates = new Map<string, Set<string>>();
  for (const r of out) {
    let set = candidates.get(r.target);
    if (!set) candidates.set(r.target, (set = new Set()));
    set.add(r.source);
  }
  for (const [target, set] of candidates) checkTournamentSize(target, set.size, file, maxCandidates);
  checkTournamentsTotal(
    [...candidates.values()].map((c) => c.size),
    file,
  );
  return out;
}

function splitCsvLine(line: string, file: string, lineNo: number): string[] {
  const fields: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quoted) throw new Error(`${file}:${lineNo}: unterminated quoted field`);
  fields.push(cur);
  return fields;
}

/** One target's per-image losses, aligned: `losses[i][x]` is candidate `sources[i]`'s loss on image `images[x]`. */
export interface LossTable {
  target: string;
  sources: string[];
  images: string[];
  losses: Float64Array[];
}

/**
 * Group per-image losses by target into aligned tables. Every candidate of a target must have exactly one loss for
 * every image any candidate of that target was evaluated on: win rates over different image sets would not be
 * comparable. Targets are returned sorted; candidates in order of first appearance.
 */
export function lossTables(records: LossRecord[], file = 'losses', maxCandidates = MAX_TOURNAMENT_CANDIDATES): LossTable[] {
  const byTarget = new Map<string, Map<string, Map<string, number>>>();
  for (const r of records) {
    let bySource = byTarget.get(r.target);
    if (!bySource) byTarget.set(r.target, (bySource = new Map()));
    const source = candidateId(r.source);
    let byImage = bySource.get(source);
    if (!byImage) bySource.set(source, (byImage = new Map()));
    if (byImage.has(r.image)) throw new Error(`target "${r.target}", source "${source}": image "${r.image}" has two losses`);
    byImage.set(r.image, r.loss);
  }
  for (const [target, bySource] of byTarget) checkTournamentSize(target, bySource.size, file, maxCandidates);
  checkTournamentsTotal(
    [...byTarget.values()].map((m) => m.size),
    file,
  );
  return [...byTarget.keys()].sort().map((target) => {
    const bySource = byTarget.get(target)!;
    const sources = [...bySource.keys()];
    const images = [...new Set([...bySource.values()].flatMap((m) => [...m.keys()]))];
    const losses = sources.map((s) => {
      const byImage = bySource.get(s)!;
      return Float64Array.from(images, (img) => {
        const v = byImage.get(img);
        if (v === undefined) throw new Error(`target "${target}": source "${s}" has no loss for image "${img}"`);
        return v;
      });
    });
    return { target, sources, images, losses };
  });
}

/**
 * A target's tournament from its loss table (lower loss wins, ties count ½). `weights` counts each image (a bootstrap
 * draw's multiplicities; default 1 each), so a resampled tournament needs no copy of the losses.
 */
export function tournamentOf(table: LossTable, weights?: ArrayLike<number>): Tournament {
  const { target, sources, losses } = table;
  const m = sources.length;
  const n = table.images.length;
  if (weights && weights.length !== n) throw new Error(`target "${target}": ${weights.length} image weights for ${n} images`);
  const w = weights ?? new Float64Array(n).fill(1);
  let total = 0;
  for (let x = 0; x < n; x++) {
    if (!(w[x] >= 0 && Number.isFinite(w[x])))
      throw new Error(`target "${target}": image weight ${w[x]} of image "${table.images[x]}"; weights must be finite and ≥ 0`);
    total += w[x];
  }
  if (!(total > 0)) throw new Error(`target "${target}": the image weights sum to 0; no tournament`);
  const wins = Array.from({ length: m }, () => new Array<number>(m).fill(0.5));
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) {
      const a = losses[i];
      const b = losses[j];
      let score = 0; // doubled: win = 2, tie = 1, so whole-number weights keep the count an exact integer
      for (let x = 0; x < n; x++) score += w[x] * (a[x] < b[x] ? 2 : a[x] === b[x] ? 1 : 0);
      wins[i][j] = score / (2 * total);
      wins[j][i] = (2 * total - score) / (2 * total);
    }
  }
  return { target, sources, wins, images: n };
}

/** One tournament per target from per-image losses (lossTables, then tournamentOf). */
export function tournamentsFromLosses(records: LossRecord[], file = 'losses', maxCandidates = MAX_TOURNAMENT_CANDIDATES): Tournament[] {
  return lossTables(records, file, maxCandidates).map((t) => tournamentOf(t));
}

/**
 * The win rate of every candidate of every tournament against a baseline candidate, as a Taskonomy result dict
 * {"a__b__target": w_t(a__b, baseline)} — the format of `wins_vs_pixels` (baseline `pixels`, Gain) and
 * `wins_vs_task` (baseline `self`, Quality). Targets whose tournament lacks the baseline are listed in `missing`.
 */
export function winRatesVs(tournaments: Tournament[], baseline: string): { winRates: ResultDict; missing: string[] } {
  const winRates: ResultDict = {};
  const missing: string[] = [];
  for (const t of tournaments) {
    const b = t.sources.indexOf(baseline);
    if (b < 0) {
      missing.push(t.target);
      continue;
    }
    t.sources.forEach((s, i) => {
      winRates[canonicalKey(s.split('__'), t.target)] = t.wins[i][b];
    });
  }
  return { winRates, missing };
}

/** Gain (vs `pixels`) and Quality (vs `self`) win-rate dicts, docs/taskonomy.md#gain-and-quality. */
export function gainAndQuality(tournaments: Tournament[]): {
  winsVsPixels: ResultDict;
  winsVsTask: ResultDict;
  missingPixels: string[];
  missingSelf: string[];
} {
  const gain = winRatesVs(tournaments, GAIN_BASELINE);
  const quality = winRatesVs(tournaments, QUALITY_BASELINE);
  return { winsVsPixels: gain.winRates, winsVsTask: quality.winRates, missingPixels: gain.missing, missingSelf: quality.missing };
}

/** Validate and read per-target tournament matrices from parsed JSON (see TournamentsJson). */
export function parseTournamentsJson(json: unknown, file = 'tournaments JSON'): Tournament[] {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error(`${file}: expected an object {"<target>": {"sources": [...], "wins": [[...]]}}`);
  }
  const out: Tournament[] = [];
  for (const [target, entry] of Object.entries(json as Record<string, unknown>)) {
    const where = `${file}: target "${target}"`;
    if (target.includes('__') || target.trim() === '') throw new Error(`${where}: not a task name`);
    if (entry === null || typeof entry !== 'object') throw new Error(`${where}: expected {"sources": [...], "wins": [[...]]}`);
    const { sources, wins, images } = entry as { sources?: unknown; wins?: unknown; images?: unknown };
    if (!Array.isArray(sources) || sources.length === 0 || !sources.every((s) => typeof s === 'string')) {
      throw new Error(`${where}: "sources" must be a non-empty array of strings`);
    }
    const ids = (sources as string[]).map(candidateId);
    const dup = ids.find((s, i) => ids.indexOf(s) !== i);
    if (dup !== undefined) throw new Error(`${where}: source "${dup}" is listed twice`);
    const m = ids.length;
    if (!Array.isArray(wins) || wins.length !== m) throw new Error(`${where}: "wins" must be a ${m}×${m} array (one row per source)`);
    const rows = wins.map((row: unknown, i: number) => {
      if (!Array.isArray(row) || row.length !== m) throw new Error(`${where}: wins row ${i} ("${ids[i]}") must have ${m} values`);
      return row.map((v: unknown, j: number) => {
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) {
          throw new Error(`${where}: wins["${ids[i]}"]["${ids[j]}"] = ${JSON.stringify(v)} is not a fraction in [0, 1]`);
        }
        return v;
      });
    });
    const t: Tournament = { target, sources: ids, wins: rows };
    if (typeof images === 'number') t.images = images;
    out.push(t);
  }
  if (out.length === 0) throw new Error(`${file}: no targets`);
  return out;
}

export function tournamentsToJson(tournaments: Tournament[]): TournamentsJson {
  const out: TournamentsJson = {};
  for (const t of tournaments) {
    out[t.target] = t.images === undefined ? { sources: t.sources, wins: t.wins } : { sources: t.sources, wins: t.wins, images: t.images };
  }
  return out;
}
