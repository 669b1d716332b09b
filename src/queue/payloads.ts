/**
 * The job kinds a taskmap worker accepts and the schema of each one's payload. A worker parses every payload with
 * these schemas before acting on it (unknown fields, wrong types, oversized lists and unknown kinds are refused
 * without a retry); the paths a payload names are then confined to the worker's roots (roots.ts).
 */
import { z } from 'zod';

/** Job names: the kinds of work, and nothing else, a worker will run. */
export const JOB_KINDS = ['extract-shard', 'similarity-prepare', 'similarity-block', 'similarity-pairs'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export function isJobKind(name: string): name is JobKind {
  return (JOB_KINDS as readonly string[]).includes(name);
}

/**
 * A job this worker will not run as given — unknown kind, invalid payload, a path outside the roots, a model that
 * differs from the coordinator's — as opposed to a failure while running it. It is never retried.
 */
export class RefusedJob extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefusedJob';
  }
}

/** Payload format version: a worker refuses payloads from a coordinator of another format. */
export const PAYLOAD_VERSION = 2;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 hex digest');
const absPath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => p.startsWith('/') && !p.includes('\0'), 'an absolute path');
const title = z.string().min(1).max(300);
const finite = z.number().refine(Number.isFinite, 'a finite number');

const preprocessing = z.strictObject({
  width: z.int().min(1).max(16384),
  height: z.int().min(1).max(16384),
  resize: z.enum(['stretch', 'crop', 'pad']),
  channels: z.enum(['rgb', 'bgr', 'gray']),
  range: z.tuple([finite, finite]),
  mean: z.array(finite).min(1).max(4).optional(),
  std: z.array(finite).min(1).max(4).optional(),
  layout: z.enum(['NHWC', 'NCHW']),
  dtype: z.enum(['float32', 'int32']),
});

const reduction = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('none') }),
  z.strictObject({ kind: z.literal('gap') }),
  z.strictObject({ kind: z.literal('pool'), k: z.int().min(1).max(4096) }),
  z.strictObject({
    kind: z.literal('proj'),
    d: z
      .int()
      .min(1)
      .max(1 << 24),
    seed: z.int().min(0).max(0xffffffff),
  }),
]);

const model = z.union([
  z.strictObject({ zoo: z.string().min(1).max(200) }),
  z.strictObject({ file: absPath, format: z.enum(['onnx', 'tfjs-graph', 'tfjs-layers']) }),
]);

/** One model on one shard of the images: the rows of each tap go to `<out>/.partial/<key>/q-<shard>.npy`. */
export const extractShardSchema = z.strictObject({
  v: z.literal(PAYLOAD_VERSION),
  title,
  out: absPath,
  shard: hex64,
  model,
  /** The model's cache identity as the coordinator resolved it; the worker's copy must match. */
  fingerprint: z.string().min(1).max(512),
  /** The runtime that computes the rows (models/load.ts ResolvedModelFile.runtime): a converted runtime, or null for the format's own. */
  runtime: z.string().min(1).max(64).nullable(),
  preprocessing: preprocessing.optional(),
  overrides: preprocessing.partial(),
  extraInputs: z.record(z.string().max(512), finite).optional(),
  featureLayout: z.enum(['channels-last', 'channels-first']),
  taps: z
    .array(z.strictObject({ layer: z.string().min(1).max(4096), reduction, key: hex64 }))
    .min(1)
    .max(1024),
  imagesRoot: absPath,
  images: z
    .array(z.strictObject({ path: z.string().min(1).max(4096), sha256: hex64 }))
    .min(1)
    .max(100_000),
  batchSize: z.int().min(1).max(4096),
  batchable: z.boolean(),
});
export type ExtractShardPayload = z.infer<typeof extractShardSchema>;

/** What an extract-shard job returns (kept small: the rows are on disk). */
export interface ExtractShardResult {
  preprocessing: z.infer<typeof preprocessing>;
  loadMs: number;
  decodeMs: number;
  inferMs: number;
  totalMs: number;
  /** Checking the job: payload, roots, model fingerprint, image hashes (ms). */
  checkMs: number;
  /** Writing the chunks (ms). */
  writeMs: number;
  images: number;
}

const engine = z.enum(['auto', 'ort', 'js']);
const precision = z.enum(['float64', 'float32']);

/**
 * One member of a feature set → its prepared comparator vector at `<work>/prepared/<key>.npy` (+ `.json`); for a
 * pairwise family (procrustes, cca, …) its prepared form, serialised, at `<work>/prepared/<key>.v8` (+ `.json`).
 */
export const similarityPrepareSchema = z.strictObject({
  v: z.literal(PAYLOAD_VERSION),
  title,
  featureSet: absPath,
  label: z.string().min(1).max(4096),
  imagesList: absPath.optional(),
  measure: z.string().min(1).max(512),
  precision,
  engine,
  work: absPath,
  key: hex64,
});
export type SimilarityPreparePayload = z.infer<typeof similarityPrepareSchema>;

/** The sidecar of a prepared vector (its commit marker): what the coordinator checks across members. */
export interface PreparedInfo {
  label: string;
  /** The comparator's vector kind, or `pairwise` for a pairwise family's serialised form. */
  kind: 'unit' | 'kendall' | 'tau-a' | 'pairwise';
  /** Values in the vector (a pairwise form: bytes in its file). */
  length: number;
  n: number;
  /** sha256 over the member's image ids, or null when it carries none. */
  imagesDigest: string | null;
  imagesFrom?: string;
}

/** Inner products of the prepared vectors `rows` × `cols` → `<work>/blocks/<run>/<block>.npy` (float64). */
export const similarityBlockSchema = z.strictObject({
  v: z.literal(PAYLOAD_VERSION),
  title,
  work: absPath,
  run: hex64,
  block: z.string().regex(/^\d{1,6}-\d{1,6}$/),
  kind: z.enum(['unit', 'kendall', 'tau-a']),
  rows: z.array(hex64).min(1).max(4096),
  cols: z.array(hex64).min(1).max(4096),
  engine,
});
export type SimilarityBlockPayload = z.infer<typeof similarityBlockSchema>;

/**
 * A pairwise family's values for the members `rows` × `cols` (their prepared forms `<work>/prepared/<key>.v8`) →
 * `<work>/blocks/<run>/<block>.npy` (float64). In a diagonal block (rows = cols) of a symmetric family only the
 * pairs above the diagonal are computed, and the diagonal only when the family has no fixed self value; the entries
 * not computed are 0.
 */
export const similarityPairsSchema = similarityBlockSchema.omit({ kind: true }).extend({ measure: z.string().min(1).max(512), precision });
export type SimilarityPairsPayload = z.infer<typeof similarityPairsSchema>;

export const SCHEMAS = {
  'extract-shard': extractShardSchema,
  'similarity-prepare': similarityPrepareSchema,
  'similarity-block': similarityBlockSchema,
  'similarity-pairs': similarityPairsSchema,
} as const;

/** The payload checked against its kind's schema; the error lists every problem, by field. */
export function parsePayload<K extends JobKind>(kind: K, data: unknown): z.infer<(typeof SCHEMAS)[K]> {
  const r = SCHEMAS[kind].safeParse(data);
  if (!r.success) {
    const problems = r.error.issues
      .slice(0, 8)
      .map((i) => `${i.path.length ? i.path.join('.') : '(payload)'}: ${i.message}`)
      .join('; ');
    throw new Error(`invalid ${kind} payload: ${problems}${r.error.issues.length > 8 ? `; and ${r.error.issues.length - 8} more` : ''}`);
  }
  return r.data as z.infer<(typeof SCHEMAS)[K]>;
}
