/**
 * `taskmap extract`: models × probe images → a feature set (one `<label>.npy` per model/layer, rows in image
 * order) plus manifest.json. Cached and resumable at image granularity:
 *   - an entry's rows are keyed by (entry key, image content hash); the key covers model file, preprocessing,
 *     layer, reduction — so changing any of those recomputes exactly that entry, and changing, adding or removing
 *     images recomputes exactly those images;
 *   - rows are persisted batch by batch under `<out>/.partial/<key>/` while a model runs, so an interrupted run
 *     resumes where it stopped;
 *   - every file is written atomically (temp + rename).
 */
import { availableParallelism } from 'node:os';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve as resolvePath } from 'node:path';
import pLimit from 'p-limit';
import { writeFileAtomic } from '../io/atomic.js';
import { pathInside } from '../io/paths.js';
import { readNpy, writeNpy } from '../io/npy.js';
import { canonicalPreprocessing } from '../images/preprocess.js';
import { checkImage, listImages, type ImageFile } from '../images/list.js';
import { runJobs, type RunJobsOptions } from './pool.js';
import type { Job, JobEvent, JobImage } from './job.js';
import { listLayers } from './load.js';
import {
  entryKey,
  imagesDigest,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  readManifest,
  writeManifest,
  type Manifest,
  type ManifestEntry,
  type ManifestImage,
} from './manifest.js';
import { formatReduction, parseReduction } from './reduce.js';
import { resolveModel, type ModelSpec } from './resolve.js';
import { parseTap, resolveTaps, type ResolvedTap } from './taps.js';
import type { Preprocessing, Reduction } from './types.js';
import { TASKMAP_PACKAGE, zooModel } from './zoo.js';
import { readInputFile } from '../io/input.js';

export interface ModelRequest {
  /** Zoo id or model file. */
  ref: string;
  /** Layer names / glob patterns, each optionally `@reduction`; default: the zoo card's tap, else the model output. */
  taps?: string[];
  /** Reduction for taps without their own (default: the zoo card's, else none). */
  reduce?: string;
  overrides?: Partial<Preprocessing>;
}

export interface ExtractOptions {
  images: string;
  out: string;
  models: ModelRequest[];
  /** Worker threads (default: cores, at most the number of models to run); 0 = in this thread. */
  workers?: number;
  batchSize?: number;
  /** Skip undecodable images with a warning instead of failing. */
  skipBad?: boolean;
  /** Go on with the other models when one fails to load or run (its failure is returned). */
  continueOnError?: boolean;
  onProgress?: (done: number, total: number, label: string) => void;
  onLog?: (message: string) => void;
  /** Tool name/version for the manifest. */
  tool?: string;
  /**
   * Persist computed rows at most this often while a model runs (ms; default 2000). An interruption loses at most
   * this much work; 0 persists every batch (each checkpoint is an fsync'd write, which costs fast models more).
   */
  checkpointMs?: number;
  /**
   * Runs the jobs instead of the local worker-thread pool (the distributed queue, src/queue/): it must report
   * through `opts.onEvent` exactly what runJobs would. `plans[job.id]` says where each job's rows belong.
   */
  runner?: JobRunner;
}

/** What a runner other than the local pool needs to know about a job beyond the Job itself. */
export interface JobPlan {
  /** The feature-set folder (absolute). */
  dir: string;
  /** The cache key of each tap's entry, in `job.taps` order: rows are kept under `<dir>/.partial/<key>/`. */
  keys: string[];
  /** The zoo id when the model is a zoo model. */
  zoo?: string;
  /** The model's cache identity (content hash of its files, or the zoo package identity). */
  fingerprint: string;
  /** The images folder the jobs' image paths are relative to (absolute). */
  imagesRoot: string;
  /**
   * Every image of the run in manifest order, once per content hash — the list a job's `images` are the missing
   * part of (with nothing cached, the two are equal).
   */
  images: JobImage[];
}

export type JobRunner = (jobs: Job[], opts: RunJobsOptions, plans: JobPlan[]) => Promise<void>;

/** Where partial rows of an entry live, relative to the feature-set folder (`<PARTIAL_DIR>/<key>/`). */
export const PARTIAL_DIR = '.partial';

export interface ExtractSummary {
  dir: string;
  manifest: Manifest;
  /** Entries whose rows were (partly) computed in this run. */
  computed: { label: string; images: number; msPerImage?: number }[];
  /** Entries left as they were. */
  reused: string[];
  /** Entries rewritten from cached rows only (image order or set changed). */
  reassembled: string[];
  /** Entries deleted because they were computed on a different image set and not requested now. */
  removed: string[];
  failed: { model: string; error: string }[];
  /** Per model run in this call: where its time went (ms, summed over batches). */
  jobs: { model: string; images: number; loadMs: number; decodeMs: number; inferMs: number; batchMs: number }[];
  /** Images that were skipped (--skip-bad). */
  skipped: { path: string; reason: string }[];
  seconds: number;
}

interface PlannedEntry {
  label: string;
  spec: ModelSpec;
  tap: ResolvedTap;
  request: string;
  key: string;
  old?: ManifestEntry;
  /** hash → row, filled lazily from the old file, partial chunks and new results. */
  rows: Map<string, Float32Array>;
  featureShape?: number[];
  missing: Set<string>;
  /** Computed rows not yet written to a partial chunk. */
  unsaved: { hashes: string[]; rows: Float32Array[] };
  preprocessing?: Preprocessing;
  msPerImage?: number;
  computedImages: number;
}

function slug(s: string): string {
  let out = s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '');
  if (out.length > 100) out = `${out.slice(0, 60)}…${out.slice(-39)}`.replace('…', '_');
  return out || 'layer';
}

/** Labels: the model id when it has one tap, else `<id>/<layer>` (plus `@reduction` when a layer repeats). */
function labelsFor(id: string, taps: ResolvedTap[]): string[] {
  if (taps.length === 1) return [id];
  const counts = new Map<string, number>();
  for (const t of taps) counts.set(t.layer, (counts.get(t.layer) ?? 0) + 1);
  return taps.map((t) => `${id}/${slug(t.layer)}${counts.get(t.layer)! > 1 ? `@${slug(formatReduction(t.reduction))}` : ''}`);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

function keyMaterial(spec: ModelSpec, tap: ResolvedTap) {
  return {
    fingerprint: spec.fingerprint,
    preprocessing: spec.preprocessing ? canonicalPreprocessing(spec.preprocessing) : { inferredWith: spec.overrides },
    layer: tap.layer,
    reduce: formatReduction(tap.reduction),
    featureLayout: spec.featureLayout,
    extraInputs: spec.extraInputs,
    runtime: spec.runtime,
  };
}

/** Rows already computed in an earlier run, by image hash, from the entry's .npy and its partial chunks. */
async function loadCachedRows(dir: string, e: PlannedEntry, oldManifest: Manifest | undefined, wanted: Set<string>): Promise<void> {
  const add = (hash: string, row: Float32Array, shape: number[], where: string) => {
    if (!wanted.has(hash) || e.rows.has(hash)) return;
    if (e.featureShape && e.featureShape.join() !== shape.join()) {
      throw new Error(
        `${where}: cached rows have per-image shape [${shape.join(', ')}] but [${e.featureShape.join(', ')}] was expected for ${e.label}; delete ${where} to recompute`,
      );
    }
    e.featureShape ??= shape;
    e.rows.set(hash, row);
  };
  if (e.old && oldManifest) {
    const list = e.old.imagesDigest === imagesDigest(oldManifest.images.files) ? oldManifest.images.files : oldManifest.previousImages?.[e.old.imagesDigest];
    const file = pathInside(dir, e.old.file, MANIFEST_FILE);
    if (list && (await exists(file)) && list.some((f) => wanted.has(f.sha256))) {
      const arr = readNpy(await readInputFile(file), file);
      if (arr.dtype === 'float32' && arr.shape[0] === list.length) {
        const shape = arr.shape.slice(1);
        const q = shape.reduce((a, b) => a * b, 1);
        const data = arr.data as Float32Array;
        list.forEach((f, i) => add(f.sha256, data.subarray(i * q, (i + 1) * q), shape, file));
      }
    }
  }
  const pdir = join(dir, PARTIAL_DIR, e.key);
  const names = await readdir(pdir).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const npy = join(pdir, name.replace(/\.json$/, '.npy'));
    let meta: { hashes: string[] };
    let arr: ReturnType<typeof readNpy>;
    try {
      meta = JSON.parse(await readFile(join(pdir, name), 'utf8')) as { hashes: string[] };
      arr = readNpy(await readInputFile(npy), npy);
    } catch {
      continue; // a chunk cut short by a crash: its images are simply computed again
    }
    if (arr.dtype !== 'float32' || arr.shape[0] !== meta.hashes.length) continue;
    const shape = arr.shape.slice(1);
    const q = shape.reduce((a, b) => a * b, 1);
    const data = arr.data as Float32Array;
    meta.hashes.forEach((h, i) => add(h, data.subarray(i * q, (i + 1) * q), shape, npy));
  }
}

type Log = (message: string) => void;
type Failure = { model: string; error: string };

/** Step 1's product: the images of this run in manifest order, with what identifies the image set. */
interface ImageSet {
  images: ImageFile[];
  files: ManifestImage[];
  skipped: { path: string; reason: string }[];
  digest: string;
  wanted: Set<string>;
}

/** Images whose decoding an earlier run proved: the image lists of the old manifest (current and previous). */
function knownGoodHashes(oldManifest: Manifest | undefined): Set<string> {
  return new Set([...(oldManifest?.images.files ?? []), ...Object.values(oldManifest?.previousImages ?? {}).flat()].map((f) => f.sha256));
}

/** Decode-check `images`; the reason of each that fails, by input order. */
async function decodeFailures(images: ImageFile[]): Promise<{ image: ImageFile; reason: string }[]> {
  // Decoding is libvips work on libuv's pool (sharp.concurrency(1): one thread per image), so a few checks in flight
  // keep every core busy; bounded, so a folder of thousands of large photos is not all in memory at once.
  const limit = pLimit(2 * Math.max(1, availableParallelism()));
  const reasons = await Promise.all(
    images.map((img) =>
      limit(() =>
        readFile(img.abs)
          .then(checkImage)
          .then(
            () => undefined,
            (e: unknown) => String((e as Error).message).split('\n')[0],
          ),
      ),
    ),
  );
  return images.flatMap((image, i) => (reasons[i] === undefined ? [] : [{ image, reason: reasons[i] }]));
}

function unreadableImages(root: string, bad: { image: ImageFile; reason: string }[]): Error {
  const list = bad.map((b) => `${b.image.path} (${b.reason})`);
  const them = bad.length > 1 ? 'them' : 'it';
  return new Error(`unreadable image${bad.length > 1 ? 's' : ''} in ${root}: ${list.join('; ')}; fix or remove ${them}, or pass --skip-bad to leave ${them} out`);
}

/** The image set of a run: `images` in manifest order, less `skipped`. */
function imageSet(root: string, images: ImageFile[], skipped: { path: string; reason: string }[]): ImageSet {
  if (images.length === 0) throw new Error(`${root}: no readable images`);
  const files: ManifestImage[] = images.map((i) => ({ path: i.path, sha256: i.sha256 }));
  return { images, files, skipped, digest: imagesDigest(files), wanted: new Set(files.map((f) => f.sha256)) };
}

/** Step 1 with --skip-bad: decode-check the images not already known good, and leave out those that fail. */
async function skipBadImages(root: string, all: ImageFile[], knownGood: Set<string>, log: Log): Promise<ImageSet> {
  const bad = await decodeFailures(all.filter((i) => !knownGood.has(i.sha256)));
  const skipped = bad.map((b) => ({ path: b.image.path, reason: b.reason }));
  for (const s of skipped) log(`warning: skipping ${s.path}: ${s.reason}`);
  const out = new Set(skipped.map((s) => s.path));
  return imageSet(root, all.filter((i) => !out.has(i.path)), skipped);
}

/** Step 2. Models and taps, all checked before any work starts: one planned entry per model and tap. */
async function planEntries(opts: ExtractOptions, oldManifest: Manifest | undefined, log: Log): Promise<{ planned: PlannedEntry[]; failed: Failure[] }> {
  const planned: PlannedEntry[] = [];
  const failed: Failure[] = [];
  for (const req of opts.models) {
    let spec: ModelSpec;
    let taps: ResolvedTap[];
    try {
      spec = await resolveModel(req.ref, req.overrides ?? {});
      let requests = (req.taps ?? []).map(parseTap);
      const fallbackReduce: Reduction = req.reduce ? parseReduction(req.reduce) : (spec.defaultReduce ?? { kind: 'none' });
      if (requests.length === 0 && spec.zoo && spec.zoo.package !== TASKMAP_PACKAGE && spec.defaultTap) {
        // A packaged zoo card's own tap: the zoo's tests check it against the model's layers, so the model is not
        // parsed here only to list them (tens of ms for an ONNX graph, which the job loads anyway). The task bank's
        // cards are not skipped: TASKMAP_BANK_DIR can point them at a bank the tests never saw.
        taps = [{ layer: spec.defaultTap, reduction: fallbackReduce, request: spec.defaultTap }];
      } else {
        const layers = await listLayers(spec.file);
        if (requests.length === 0) {
          if (spec.defaultTap) requests = [{ pattern: spec.defaultTap }];
          else {
            const outputs = layers.length ? [layers[layers.length - 1].name] : [];
            if (!outputs.length) throw new Error(`${req.ref}: model has no layers`);
            log(`${spec.id}: no --tap given; using the last layer "${outputs[0]}" (list candidates with \`taskmap layers ${req.ref}\`)`);
            requests = outputs.map((pattern) => ({ pattern }));
          }
        }
        taps = resolveTaps(requests, layers, fallbackReduce, spec.id);
      }
      const labels = labelsFor(spec.id, taps);
      taps.forEach((tap, i) => {
        const key = entryKey(keyMaterial(spec, tap));
        planned.push({
          label: labels[i],
          spec,
          tap,
          request: tap.request,
          key,
          old: oldManifest?.entries.find((e) => e.key === key),
          rows: new Map(),
          missing: new Set(),
          unsaved: { hashes: [], rows: [] },
          computedImages: 0,
        });
      });
    } catch (e) {
      if (!opts.continueOnError) throw e;
      failed.push({ model: req.ref, error: (e as Error).message });
      log(`${req.ref}: FAILED: ${(e as Error).message}`);
    }
  }
  const seenLabels = new Map<string, string>();
  for (const e of planned) {
    const prev = seenLabels.get(e.label);
    if (prev) throw new Error(`two entries would be written as ${e.label}.npy (${prev} and ${e.spec.ref}); give each model once, with all its taps`);
    seenLabels.set(e.label, e.spec.ref);
  }
  return { planned, failed };
}

/** Step 4. Jobs: one per model that misses anything (its taps share the forward passes). */
function planJobs(planned: PlannedEntry[], set: ImageSet, opts: ExtractOptions, workers: number): { jobs: Job[]; jobEntries: Map<number, PlannedEntry[]> } {
  const bySpec = new Map<ModelSpec, PlannedEntry[]>();
  for (const e of planned) bySpec.set(e.spec, [...(bySpec.get(e.spec) ?? []), e]);
  const jobs: Job[] = [];
  const jobEntries = new Map<number, PlannedEntry[]>();
  const imageByHash = new Map<string, JobImage>(set.images.map((i) => [i.sha256, { abs: i.abs, path: i.path, sha256: i.sha256 }]));
  for (const [spec, entries] of bySpec) {
    const missing = new Set(entries.flatMap((e) => [...e.missing]));
    if (missing.size === 0) continue;
    const id = jobs.length;
    jobs.push({
      id,
      label: spec.id,
      file: spec.file,
      preprocessing: spec.preprocessing,
      overrides: spec.overrides,
      extraInputs: spec.extraInputs,
      featureLayout: spec.featureLayout,
      taps: entries.map((e) => e.tap),
      images: [...new Set(set.files.map((f) => f.sha256).filter((h) => missing.has(h)))].map((h) => imageByHash.get(h)!),
      batchSize: opts.batchSize ?? 8,
      batchable: spec.batchable,
      threads: workers > 1 ? 1 : Math.max(1, availableParallelism()),
    });
    jobEntries.set(id, entries);
  }
  return { jobs, jobEntries };
}

/**
 * Step 5. Manifest bookkeeping: the manifest of this run, kept on disk as entries are finalized. Old entries
 * still aligned with an older image list keep that list under previousImages; old entries computed on another
 * image set and not requested now are deleted (`removed`).
 */
async function manifestBook(
  dir: string,
  root: string,
  set: ImageSet,
  planned: PlannedEntry[],
  oldManifest: Manifest | undefined,
  opts: ExtractOptions,
  log: Log,
) {
  const { files, skipped, digest } = set;
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    tool: opts.tool ?? 'taskmap',
    updated: new Date().toISOString(),
    images: { root, files, skipped },
    entries: [],
  };
  const plannedLabels = new Set(planned.map((e) => e.label));
  const plannedKeys = new Set(planned.map((e) => e.key));
  const removed: string[] = [];
  for (const old of oldManifest?.entries ?? []) {
    // Requested again (possibly under a new label): handled with the planned entry, whose old record it is.
    if (plannedKeys.has(old.key)) continue;
    if (plannedLabels.has(old.label)) continue; // about to be overwritten by a different computation
    if (old.imagesDigest === digest) manifest.entries.push(old);
    else {
      await rm(pathInside(dir, old.file, MANIFEST_FILE), { force: true });
      removed.push(old.label);
      log(`removed ${old.file}: computed on a different image set and not requested now`);
    }
  }
  const finalized = new Map<string, ManifestEntry>();
  let saved = false;
  const saveManifest = async () => {
    const entries = [...manifest.entries.filter((m) => !finalized.has(m.label)), ...finalized.values()];
    // Requested entries not yet rewritten keep their old record (still the cache of their rows).
    for (const e of planned) if (!finalized.has(e.label) && e.old && !entries.some((x) => x.label === e.old!.label)) entries.push(e.old);
    const prev: Record<string, ManifestImage[]> = {};
    for (const x of entries) {
      if (x.imagesDigest === digest) continue;
      const list =
        x.imagesDigest === (oldManifest && imagesDigest(oldManifest.images.files)) ? oldManifest!.images.files : oldManifest?.previousImages?.[x.imagesDigest];
      if (list) prev[x.imagesDigest] = list;
    }
    entries.sort((a, b) => (a.label < b.label ? -1 : 1));
    await writeManifest(dir, { ...manifest, updated: new Date().toISOString(), entries, ...(Object.keys(prev).length ? { previousImages: prev } : {}) });
    saved = true;
  };

  /** Write an entry's rows in image order as its .npy, record it, drop its partial rows and save the manifest. */
  const finalize = async (e: PlannedEntry, preprocessing: Preprocessing | undefined) => {
    const shape = e.featureShape;
    if (!shape) throw new Error(`internal: no rows for ${e.label}`);
    const q = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(files.length * q);
    files.forEach((f, i) => {
      const row = e.rows.get(f.sha256);
      if (!row) throw new Error(`internal: ${e.label} has no row for ${f.path}`);
      data.set(row, i * q);
    });
    const file = `${e.label}.npy`;
    const abs = pathInside(dir, file, `feature label of ${e.spec.id}`);
    await mkdir(dirname(abs), { recursive: true });
    await writeFileAtomic(abs, writeNpy({ dtype: 'float32', shape: [files.length, ...shape], data }));
    if (e.old && e.old.file !== file) await rm(pathInside(dir, e.old.file, MANIFEST_FILE), { force: true });
    const zoo = zooModel(e.spec.id);
    finalized.set(e.label, {
      label: e.label,
      file,
      model: {
        id: e.spec.id,
        ref: e.spec.ref,
        source: e.spec.source,
        format: e.spec.format,
        fingerprint: e.spec.fingerprint,
        ...(e.spec.zoo && zoo ? { family: zoo.family } : {}),
      },
      layer: e.tap.layer,
      request: e.request,
      reduce: formatReduction(e.tap.reduction),
      featureLayout: e.spec.featureLayout,
      preprocessing: preprocessing ?? e.old?.preprocessing ?? e.spec.preprocessing!,
      shape: [files.length, ...shape],
      imagesDigest: digest,
      key: e.key,
      ...((e.msPerImage ?? e.old?.msPerImage) !== undefined ? { msPerImage: e.msPerImage ?? e.old?.msPerImage } : {}),
      updated: new Date().toISOString(),
    });
    e.rows.clear();
    await rm(join(dir, PARTIAL_DIR, e.key), { recursive: true, force: true });
    await saveManifest();
  };
  /** Whether the manifest on disk is this run's, with every entry finalized so far. */
  const isSaved = () => saved;
  return { removed, finalized, saveManifest, finalize, isSaved };
}

/** Step 6. Run the jobs: rows checkpointed as they arrive, each entry finalized when its model is done. */
async function runExtraction(
  ctx: {
    dir: string;
    root: string;
    images: ImageFile[];
    opts: ExtractOptions;
    log: Log;
    workers: number;
    failed: Failure[];
    finalize: (e: PlannedEntry, p: Preprocessing | undefined) => Promise<void>;
    /** Images a job decoded (their rows arrived). */
    decoded: (hashes: string[]) => void;
    /**
     * The check of the images no job has decoded yet, run beside the jobs once one fails: `start` it (once), and
     * `failed` is the error naming every unreadable image as soon as it has found one.
     */
    imageCheck: { start: () => void; failed: () => Error | undefined };
  },
  jobs: Job[],
  jobEntries: Map<number, PlannedEntry[]>,
): Promise<{ computed: ExtractSummary['computed']; jobStats: ExtractSummary['jobs'] }> {
  const { dir, opts, log, failed, finalize } = ctx;
  const total = jobs.reduce((s, j) => s + j.images.length, 0);
  let done = 0;
  let chunkSeq = Date.now();
  const jobPre = new Map<number, Preprocessing>();
  const checkpointMs = opts.checkpointMs ?? 2000;
  const lastCheckpoint = new Map<number, number>();
  /** Write an entry's unsaved rows as one partial chunk (.npy rows + .json image hashes). */
  const checkpoint = async (e: PlannedEntry) => {
    const { hashes, rows } = e.unsaved;
    if (hashes.length === 0 || !e.featureShape) return;
    const q = rows[0].length;
    const data = new Float32Array(hashes.length * q);
    rows.forEach((r, i) => data.set(r, i * q));
    const base = join(dir, PARTIAL_DIR, e.key, String(chunkSeq++).padStart(15, '0'));
    await writeFileAtomic(`${base}.npy`, writeNpy({ dtype: 'float32', shape: [hashes.length, ...e.featureShape], data }));
    await writeFileAtomic(`${base}.json`, JSON.stringify({ hashes }));
    e.unsaved = { hashes: [], rows: [] };
  };
  const inferMs = new Map<number, { ms: number; n: number }>();
  const jobStats = new Map<number, ExtractSummary['jobs'][number]>();
  const statsOf = (id: number) => {
    let st = jobStats.get(id);
    if (!st) jobStats.set(id, (st = { model: jobs[id].label, images: 0, loadMs: 0, decodeMs: 0, inferMs: 0, batchMs: 0 }));
    return st;
  };
  const computed: ExtractSummary['computed'] = [];
  /** Every entry's unsaved rows to a partial chunk (queued runs keep their rows as shard chunks already). */
  const saveAll = async () => {
    if (!opts.runner) for (const es of jobEntries.values()) for (const e of es) await checkpoint(e);
  };
  const onEvent = async (ev: JobEvent) => {
    // An unreadable image stops the run: it is the images' error, named like the up-front check names them (every
    // unreadable one, not only the one a job met), whatever continueOnError says.
    const unreadable = ctx.imageCheck.failed();
    if (unreadable) {
      await saveAll();
      throw unreadable;
    }
    const entries = jobEntries.get(ev.jobId)!;
    const job = jobs[ev.jobId];
    if (ev.type === 'ready') {
      jobPre.set(ev.jobId, ev.preprocessing);
      lastCheckpoint.set(ev.jobId, performance.now());
      statsOf(ev.jobId).loadMs = ev.loadMs;
      return;
    }
    if (ev.type === 'error') {
      const msg = ev.message;
      if (!opts.continueOnError) {
        // Stop at once, without waiting for a decode check: whether an unreadable image is the cause is decided once
        // the other jobs have stopped (extractFeatures).
        await saveAll();
        throw new Error(msg.startsWith(job.label) ? msg : `${job.label}: ${msg}`);
      }
      // An image no model has decoded yet may be the cause: checked beside the other jobs, which go on meanwhile;
      // an unreadable one stops the run at the next event (above) or when the jobs are done.
      ctx.imageCheck.start();
      failed.push({ model: entries[0].spec.ref, error: msg });
      log(`${job.label}: FAILED: ${msg}`);
      for (const e of entries) await checkpoint(e);
      done += job.images.length - Math.min(job.images.length, entries[0].computedImages);
      opts.onProgress?.(done, total, job.label);
      return;
    }
    if (ev.type === 'batch') {
      const t = inferMs.get(ev.jobId) ?? { ms: 0, n: 0 };
      inferMs.set(ev.jobId, { ms: t.ms + ev.inferMs, n: t.n + ev.hashes.length });
      ctx.decoded(ev.hashes);
      const st = statsOf(ev.jobId);
      st.images += ev.hashes.length;
      st.decodeMs += ev.decodeMs;
      st.inferMs += ev.inferMs;
      st.batchMs += ev.totalMs;
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i];
        const out = ev.outputs[i];
        const q = out.shape.reduce((a, b) => a * b, 1);
        if (e.featureShape && e.featureShape.join() !== out.shape.join()) {
          throw new Error(`${e.label}: features have shape [${out.shape.join(', ')}] but cached rows have [${e.featureShape.join(', ')}]`);
        }
        e.featureShape ??= out.shape;
        ev.hashes.forEach((h, k) => {
          const row = out.rows.subarray(k * q, (k + 1) * q);
          e.rows.set(h, row);
          e.unsaved.hashes.push(h);
          e.unsaved.rows.push(row);
        });
        e.computedImages += ev.hashes.length;
      }
      if (performance.now() - lastCheckpoint.get(ev.jobId)! >= checkpointMs) {
        for (const e of entries) await checkpoint(e);
        lastCheckpoint.set(ev.jobId, performance.now());
      }
      done += ev.hashes.length;
      opts.onProgress?.(done, total, job.label);
      return;
    }
    const t = inferMs.get(ev.jobId);
    for (const e of entries) {
      e.msPerImage = t && t.n ? t.ms / t.n : undefined;
      await finalize(e, jobPre.get(ev.jobId));
      computed.push({ label: e.label, images: e.computedImages, msPerImage: e.msPerImage });
    }
    log(
      `${job.label}: ${job.images.length} image${job.images.length === 1 ? '' : 's'}${t && t.n ? `, ${(t.ms / t.n).toFixed(1)} ms/image` : ''} → ${entries.map((e) => `${e.label}.npy`).join(', ')}`,
    );
  };
  if (jobs.length) {
    opts.onProgress?.(0, total, jobs[0].label);
    const runOpts: RunJobsOptions = {
      workers: Math.min(ctx.workers, jobs.length),
      cost: (j) => j.images.length * (zooModel(j.label)?.msPerImage ?? 100),
      onEvent,
    };
    if (opts.runner) {
      const seen = new Set<string>();
      const images = ctx.images.filter((i) => !seen.has(i.sha256) && seen.add(i.sha256)).map((i): JobImage => ({ abs: i.abs, path: i.path, sha256: i.sha256 }));
      const plans = jobs.map((j): JobPlan => {
        const entries = jobEntries.get(j.id)!;
        const spec = entries[0].spec;
        const model = spec.zoo ? { zoo: spec.zoo.id } : {};
        return { dir, keys: entries.map((e) => e.key), ...model, fingerprint: spec.fingerprint, imagesRoot: ctx.root, images };
      });
      await opts.runner(jobs, runOpts, plans);
    } else await runJobs(jobs, runOpts);
  }
  return { computed, jobStats: [...jobStats.values()] };
}

/** Step 7. Partial rows of keys nobody asked for this time are garbage; those of failed models stay for the next run. */
async function cleanPartials(dir: string, planned: PlannedEntry[]): Promise<void> {
  const live = new Set(planned.map((e) => e.key));
  for (const name of await readdir(join(dir, PARTIAL_DIR)).catch(() => [] as string[])) {
    if (!live.has(name)) await rm(join(dir, PARTIAL_DIR, name), { recursive: true, force: true });
  }
  if ((await readdir(join(dir, PARTIAL_DIR)).catch(() => ['x'])).length === 0) await rm(join(dir, PARTIAL_DIR), { recursive: true, force: true });
}

export async function extractFeatures(opts: ExtractOptions): Promise<ExtractSummary> {
  const t0 = performance.now();
  const log = opts.onLog ?? (() => undefined);
  const dir = resolvePath(opts.out);
  const root = resolvePath(opts.images);
  if (opts.models.length === 0) throw new Error('no models given');

  // 1. Images: hash them. Whether they decode is proven by the jobs themselves (every image a job returns rows for was
  //    decoded; every image with cached rows was decoded by an earlier run), so no image is decoded twice: the
  //    up-front check cost a one-model extraction ~10% of its run. Images nothing proves — none when any model
  //    runs or is cached — are decode-checked before the manifest first records the image set, and a job error has
  //    the images not yet proven checked (step 6), so an unreadable image is reported as such, all of them at once.
  //    With --skip-bad the bad images must be known before the image set is: they are checked up front.
  // 2. Models and taps, all checked before any work starts (beside step 1's checks, when there are any) — except a
  //    packaged zoo card's own tap, which its tests check. An image error is reported before a model error.
  const all = await listImages(root);
  const oldManifest = await readManifest(dir);
  const knownGood = knownGoodHashes(oldManifest);
  const [checked, plan] = await Promise.allSettled([
    opts.skipBad ? skipBadImages(root, all, knownGood, log) : Promise.resolve(imageSet(root, all, [])),
    planEntries(opts, oldManifest, log),
  ]);
  if (checked.status === 'rejected') throw checked.reason;
  const set = checked.value;
  const proven = new Set(knownGood);
  if (opts.skipBad) for (const f of set.files) proven.add(f.sha256);
  const unreadable = async (): Promise<Error | undefined> => {
    const todo = set.images.filter((i) => !proven.has(i.sha256));
    const bad = await decodeFailures(todo);
    if (bad.length) return unreadableImages(root, bad);
    for (const i of todo) proven.add(i.sha256);
    return undefined;
  };
  if (plan.status === 'rejected') throw (await unreadable()) ?? plan.reason;
  const { digest, wanted } = set;
  const { planned, failed } = plan.value;

  // 3. What is cached, what is missing.
  await mkdir(dir, { recursive: true });
  const upToDate = (e: PlannedEntry) => e.old !== undefined && e.old.imagesDigest === digest && e.old.label === e.label;
  for (const e of planned) {
    if (upToDate(e) && (await exists(pathInside(dir, e.old!.file, MANIFEST_FILE)))) continue;
    await loadCachedRows(dir, e, oldManifest, wanted);
    for (const h of e.rows.keys()) proven.add(h);
    for (const h of wanted) if (!e.rows.has(h)) e.missing.add(h);
  }

  // 4. Jobs: one per model that misses anything (its taps share the forward passes).
  const workers = opts.workers ?? Math.max(1, availableParallelism());
  const { jobs, jobEntries } = planJobs(planned, set, opts, workers);

  // 5. Manifest bookkeeping, from the moment every image of the set is proven readable (it records the set, and drops
  //    entries computed on another one); entries that are up to date or can be reassembled from cached rows are done
  //    now (their rows prove every image).
  let bookP: Promise<Awaited<ReturnType<typeof manifestBook>>> | undefined;
  const book = () =>
    (bookP ??= unreadable().then((err) => {
      if (err) throw err;
      return manifestBook(dir, root, set, planned, oldManifest, opts, log);
    }));
  const reused: string[] = [];
  const reassembled: string[] = [];
  const ready = planned.filter((e) => e.missing.size === 0);
  if (ready.length || jobs.length === 0) {
    const b = await book();
    for (const e of ready) {
      if (upToDate(e) && e.rows.size === 0) {
        b.finalized.set(e.label, e.old!);
        reused.push(e.label);
      }
    }
    for (const e of ready) {
      if (!b.finalized.has(e.label)) {
        await b.finalize(e, undefined);
        reassembled.push(e.label);
      }
    }
    await b.saveManifest();
  }

  // 6. Run. A job error means the images no job has decoded yet are checked (see runExtraction): beside the other
  //    jobs when the run goes on (continueOnError), after they have stopped when it does not.
  let check: Promise<Error | undefined> | undefined;
  let checkFailed: Error | undefined;
  const imageCheck = {
    start: () => {
      // A check that itself fails (not an unreadable image: e.g. a vanished file) stops the run the same way.
      check ??= unreadable().then(
        (err) => (checkFailed = err),
        (e: unknown) => (checkFailed = e as Error),
      );
    },
    failed: () => checkFailed,
  };
  let ran: Awaited<ReturnType<typeof runExtraction>>;
  try {
    ran = await runExtraction(
      {
        dir,
        root,
        images: set.images,
        opts,
        log,
        workers,
        failed,
        finalize: async (e, p) => (await book()).finalize(e, p),
        decoded: (hashes) => hashes.forEach((h) => proven.add(h)),
        imageCheck,
      },
      jobs,
      jobEntries,
    );
  } catch (e) {
    if (e === checkFailed) throw e;
    throw (await unreadable()) ?? e;
  }
  const late = await check;
  if (late) throw late;
  const { computed, jobStats } = ran;
  const b = await book();
  if (!b.isSaved()) await b.saveManifest();
  // 7. Clean up partial rows.
  await cleanPartials(dir, planned);
  const final = (await readManifest(dir))!;
  return {
    dir,
    manifest: final,
    computed,
    reused,
    reassembled,
    removed: b.removed,
    failed,
    jobs: jobStats,
    skipped: set.skipped,
    seconds: (performance.now() - t0) / 1000,
  };
}
