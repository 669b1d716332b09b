/**
 * Use case: the similarity matrix of the members of a feature set under a representation measure (the Fisher task
 * measures, which take labelled data sets, are fisher.ts). The measure id is checked and canonicalised by the
 * measure catalogue; the answer carries the measure's description so every shell reports the same thing.
 */
import { basename } from 'node:path';
import type { FeatureSet, FeatureSetSource } from '../features/types.js';
import { loadRepresentation, openFeatureSet, type LoadFeatureSetOptions } from '../features/featureSet.js';
import type { Matrix } from '../linalg/dense.js';
import type { LabelledMatrix } from '../linalg/labelled.js';
import { catalogueEntry, type InputKind } from '../measures/catalogue.js';
import { rdmMatrix, RDM_DISTANCES, type RdmDistance } from '../measures/kernels.js';
import { centeredCopy, toFloat64 } from '../measures/normalize.js';
import { canonicalMeasureId, describeMeasure, type MeasureInfo } from '../measures/registry.js';
import { similarityMatrix, type SimilarityOptions } from '../measures/similarity.js';
import { streamedRdmIfNeeded } from './memory.js';

export { PRECISIONS, type Precision } from '../linalg/gemm.js';
export { RDM_DISTANCES, type RdmDistance };

/** What `--measure` / `"measure"` names: a representation measure or a task measure (labelled data sets). */
export function measureInput(id: string): InputKind {
  return catalogueEntry(id).input;
}

/** A representation-measure id, canonical; an unknown family or a non-representation measure is an error. */
export function representationMeasure(id: string): string {
  catalogueEntry(id, 'representations');
  return canonicalMeasureId(id);
}

export interface SimilarityResult {
  matrix: LabelledMatrix;
  measure: MeasureInfo;
  images: number;
  members: number;
}

/** The M×M similarity matrix of a loaded feature set, or of an opened one (read member by member, on several threads when it is large). */
export async function similarityOfSet(set: FeatureSet | FeatureSetSource, measure: string, opts: SimilarityOptions = {}): Promise<SimilarityResult> {
  const id = representationMeasure(measure);
  const matrix = await similarityMatrix(set, id, opts);
  return { matrix, measure: describeMeasure(id), images: set.n, members: set.members.length };
}

/** The same, from a feature-set path (directory of .npy, .npz or .safetensors), optionally ordered / subset. */
export async function similarityOfPath(
  path: string,
  measure: string,
  opts: SimilarityOptions & Pick<LoadFeatureSetOptions, 'order' | 'images'> = {},
): Promise<SimilarityResult> {
  const id = representationMeasure(measure);
  const { order, images, ...rest } = opts;
  // Read member by member: a batched measure then holds one member's features at a time, in one reused buffer.
  const set = await openFeatureSet(path, { order, images });
  const matrix = await similarityMatrix(set, id, rest);
  return { matrix, measure: describeMeasure(id), images: set.n, members: set.members.length };
}

/** One representation's RDM (`taskmap rdm`). */
export interface RdmResult {
  label: string;
  /** Images (the RDM is n×n). */
  n: number;
  distance: RdmDistance;
  centered: boolean;
  /** n×n float64, zero diagonal. */
  rdm: Matrix;
  /** Off-diagonal (i < j) summary: smallest, mean and largest dissimilarity. */
  offDiagonal: { min: number; mean: number; max: number };
}

/** The n×n RDM of one .npy feature file (n_images × …), optionally after centring each feature over the images. */
export async function rdmOfFile(file: string, opts: { distance?: RdmDistance; center?: boolean } = {}): Promise<RdmResult> {
  const distance = opts.distance ?? 'correlation';
  if (!(RDM_DISTANCES as readonly string[]).includes(distance)) throw new Error(`unknown RDM distance "${distance}" (known: ${RDM_DISTANCES.join(', ')})`);
  // A file too big to load within the memory budget is read in column blocks (ops/memory.ts rdmStreams).
  const rdm = (await streamedRdmIfNeeded(file, { distance, center: opts.center })) ?? (await loadedRdm(file, distance, Boolean(opts.center)));
  const n = rdm.rows;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = rdm.data[i * n + j];
      min = Math.min(min, v);
      max = Math.max(max, v);
      sum += v;
    }
  }
  const pairs = (n * (n - 1)) / 2;
  const label = basename(file).slice(0, -4);
  return { label, n, distance, centered: Boolean(opts.center), rdm, offDiagonal: { min, mean: pairs ? sum / pairs : Number.NaN, max } };
}

async function loadedRdm(file: string, distance: RdmDistance, center: boolean): Promise<Matrix> {
  const rep = await loadRepresentation(file);
  const data = center ? centeredCopy(rep.data, rep.n, rep.p) : toFloat64(rep);
  return rdmMatrix({ label: rep.label, n: rep.n, p: rep.p, data }, distance);
}
