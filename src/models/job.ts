/**
 * One extraction job: one model, its taps, and the images it still has to see. Runs the same code in a worker
 * thread (./worker.ts) or in-process; results stream back batch by batch so the caller can persist them as
 * they arrive (resume after an interruption loses at most one batch).
 */
import { readFile } from 'node:fs/promises';
import { decodeResized, makeBatch } from '../images/preprocess.js';
import { loadModelFile, type ResolvedModelFile } from './load.js';
import { Reducer } from './reduce.js';
import { checkInputCompatible, inferPreprocessing } from './resolve.js';
import type { ExtraInputs, FeatureLayout, ModelRunner, Preprocessing, Reduction } from './types.js';

export interface JobImage {
  abs: string;
  path: string;
  sha256: string;
}

export interface Job {
  id: number;
  /** For messages. */
  label: string;
  file: ResolvedModelFile;
  /** Card preprocessing; undefined = infer from the model input and `overrides`. */
  preprocessing?: Preprocessing;
  overrides: Partial<Preprocessing>;
  extraInputs?: ExtraInputs;
  featureLayout: FeatureLayout;
  taps: { layer: string; reduction: Reduction }[];
  images: JobImage[];
  batchSize: number;
  /** Whether several images may go through in one run (fixed batch-1 graphs cannot). */
  batchable: boolean;
  threads: number;
}

export type JobEvent =
  | { type: 'ready'; jobId: number; preprocessing: Preprocessing; loadMs: number }
  /** decodeMs: time spent waiting for this batch's images (decoding overlaps the previous batch's inference). */
  | { type: 'batch'; jobId: number; hashes: string[]; outputs: { rows: Float32Array; shape: number[] }[]; decodeMs: number; inferMs: number; totalMs: number }
  | { type: 'done'; jobId: number }
  | { type: 'error'; jobId: number; message: string };

async function openForJob(job: Job): Promise<{ runner: ModelRunner; pre: Preprocessing }> {
  const runner = await loadModelFile(job.file, { extraInputs: job.extraInputs, threads: job.threads });
  try {
    const pre = job.preprocessing ?? inferPreprocessing(runner.inputs[0], job.overrides, job.label);
    checkInputCompatible(runner.inputs[0], pre, job.label);
    return { runner, pre };
  } catch (e) {
    runner.dispose();
    throw e;
  }
}

/** Run a job, reporting through `emit`; never throws (errors become an 'error' event). */
export async function runJob(job: Job, emit: (e: JobEvent) => void): Promise<void> {
  let runner: ModelRunner | undefined;
  try {
    const t0 = performance.now();
    const opened = await openForJob(job);
    runner = opened.runner;
    const pre = opened.pre;
    emit({ type: 'ready', jobId: job.id, preprocessing: pre, loadMs: performance.now() - t0 });
    const reducers = job.taps.map((t) => new Reducer(t.reduction, job.featureLayout, `${job.label} ${t.layer}`));
    const layers = job.taps.map((t) => t.layer);
    let batchSize = job.batchable ? Math.max(1, job.batchSize) : 1;
    const decodeChunk = (chunk: JobImage[]) =>
      Promise.all(
        chunk.map(async (img) => {
          try {
            return await decodeResized(await readFile(img.abs), pre);
          } catch (e) {
            throw new Error(`image ${img.path} could not be read: ${(e as Error).message}`, { cause: e });
          }
        }),
      );
    // The next chunk decodes (libvips, on libuv's threads) while this one runs through the model, so a core does
    // not wait for the decoder between batches.
    let prefetched: { start: number; size: number; pixels: Promise<Uint8Array[]> } | undefined;
    for (let start = 0; start < job.images.length;) {
      const tb = performance.now();
      const chunk = job.images.slice(start, start + batchSize);
      const ready = prefetched?.start === start && prefetched.size === chunk.length ? prefetched.pixels : decodeChunk(chunk);
      prefetched = undefined;
      const batch = makeBatch(await ready, pre);
      const ti = performance.now();
      const decodeMs = ti - tb;
      const after = start + chunk.length;
      if (after < job.images.length) {
        const next = job.images.slice(after, after + batchSize);
        prefetched = { start: after, size: next.length, pixels: decodeChunk(next) };
        // Awaited (and its error thrown) when its turn comes; dropped unawaited if the batch size falls back to 1.
        prefetched.pixels.catch(() => undefined);
      }
      let values = await runner.run(batch, layers);
      const bad = values.findIndex((v) => v.shape[0] !== chunk.length);
      if (bad >= 0) {
        // Some graphs accept a dynamic batch but reshape with a hard-coded 1 inside: fall back to one at a time.
        if (chunk.length > 1) {
          batchSize = 1;
          continue;
        }
        throw new Error(
          `${job.label}: tap ${layers[bad]} returned shape [${values[bad].shape.join(', ')}] for one image; its first axis is not the batch axis, so it cannot be read per image`,
        );
      }
      const inferMs = performance.now() - ti;
      const outputs = values.map((v, i) => reducers[i].reduce(v.data, v.shape));
      values = [];
      emit({ type: 'batch', jobId: job.id, hashes: chunk.map((c) => c.sha256), outputs, decodeMs, inferMs, totalMs: performance.now() - tb });
      start += chunk.length;
    }
    emit({ type: 'done', jobId: job.id });
  } catch (e) {
    emit({ type: 'error', jobId: job.id, message: (e as Error).message ?? String(e) });
  } finally {
    runner?.dispose();
  }
}
