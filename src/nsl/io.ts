/**
 * TF.js models on disk without @tensorflow/tfjs-node: an IOHandler that saves and loads the standard
 * layers-model layout (`model.json` + one binary weight shard), with atomic writes.
 *
 * The shard is named after a hash of its bytes and written before `model.json`, which is the commit point: a
 * crash leaves either the old model.json (still pointing at the old shard) or the new one, never a model.json
 * whose shard is half-written. Shards no longer referenced are removed afterwards.
 */
import { createHash } from 'node:crypto';
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../io/atomic.js';
import { readTfModel, type TfModelJson } from '../models/tfjs.js';

type ModelArtifacts = tf.io.ModelArtifacts;
type WeightsSpec = tf.io.WeightsManifestEntry;

/** The weight bytes of a set of artifacts as one array (TF.js 4.x may hand over a list of buffers). */
export function weightBytes(data: ModelArtifacts['weightData']): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  const parts = Array.isArray(data) ? data : [data];
  const out = new Uint8Array(parts.reduce((s, b) => s + b.byteLength, 0));
  let off = 0;
  for (const b of parts) {
    out.set(new Uint8Array(b), off);
    off += b.byteLength;
  }
  return out;
}

/** A copy as a standalone ArrayBuffer (views into Node Buffers share a larger pool). */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function shardName(bytes: Uint8Array): string {
  return `weights.${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.bin`;
}

/** Capture a model's artifacts in memory (topology + weights) without writing anything. */
export async function modelArtifacts(model: tf.LayersModel): Promise<ModelArtifacts> {
  let captured: ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      captured = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!captured) throw new Error('model.save produced no artifacts');
  return captured;
}

/**
 * Save to / load from a directory: `tf.loadLayersModel(directoryIO(dir))`, `model.save(directoryIO(dir))`.
 * Custom layers (the NSL layers) must be registered before loading: import ./layers.js.
 */
export function directoryIO(dir: string, metadata?: Record<string, unknown>): tf.io.IOHandler {
  return {
    async save(artifacts: ModelArtifacts): Promise<tf.io.SaveResult> {
      const bytes = weightBytes(artifacts.weightData);
      const shard = shardName(bytes);
      await writeFileAtomic(join(dir, shard), bytes);
      const json: Record<string, unknown> = {
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [shard], weights: artifacts.weightSpecs ?? [] }],
      };
      const meta = { ...(artifacts.userDefinedMetadata ?? {}), ...(metadata ?? {}) };
      if (Object.keys(meta).length > 0) json.userDefinedMetadata = meta;
      await writeFileAtomic(join(dir, 'model.json'), JSON.stringify(json));
      for (const f of await readdir(dir)) {
        if (/^weights\.[0-9a-f]{16}\.bin$/.test(f) && f !== shard) await unlink(join(dir, f)).catch(() => undefined);
      }
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: JSON.stringify(artifacts.modelTopology).length,
          weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
          weightDataBytes: bytes.byteLength,
        },
      };
    },
    async load(): Promise<ModelArtifacts> {
      const { json, weights } = await readTfModel(join(dir, 'model.json'));
      return artifactsFromJson(json, weights);
    },
  };
}

function artifactsFromJson(json: TfModelJson, weights: Uint8Array): ModelArtifacts {
  return {
    modelTopology: json.modelTopology as ModelArtifacts['modelTopology'],
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? undefined,
    userDefinedMetadata: json.userDefinedMetadata as ModelArtifacts['userDefinedMetadata'],
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights as WeightsSpec[]),
    weightData: toArrayBuffer(weights),
  };
}

/** Load a layers model saved by `directoryIO` (or any tfjs layers-model directory). */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  await import('./layers.js');
  return tf.loadLayersModel(directoryIO(dir));
}
