/**
 * Use case: the similarity matrix of the members of a feature set under a representation measure (the Fisher task
 * measures, which take labelled data sets, are fisher.ts). The measure id is checked and canonicalised by the
 * measure catalogue; the answer carries the measure's description so every shell reports the same thing.
 */
import type { FeatureSet } from '../features/types.js';
import { loadFeatureSet, type LoadFeatureSetOptions } from '../features/featureSet.js';
import type { LabelledMatrix } from '../linalg/labelled.js';
import { catalogueEntry, type InputKind } from '../measures/catalogue.js';
import { canonicalMeasureId, describeMeasure, type MeasureInfo } from '../measures/registry.js';
import { similarityMatrix, type SimilarityOptions } from '../measures/similarity.js';

export { PRECISIONS, type Precision } from '../linalg/gemm.js';

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

/** The M×M similarity matrix of a loaded feature set. */
export async function similarityOfSet(set: FeatureSet, measure: string, opts: SimilarityOptions = {}): Promise<SimilarityResult> {
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
  const set = await loadFeatureSet(path, { order, images });
  return similarityOfSet(set, id, rest);
}
