/**
 * The registered pairwise families (pairwise.ts), in listing order. Adding a family here is all it takes for its
 * ids to parse, be described, listed by every shell and computed by similarityMatrix / crossSimilarity /
 * pairSimilarity.
 */
import type { PairwiseFamily } from './pairwise.js';
import { ccaFamily, pwccaFamily, svccaFamily } from './cca.js';
import { EIGENSPACE_OVERLAP_FAMILY } from './eigenspace.js';
import { NEIGHBOURHOOD_FAMILIES } from './neighbourhood.js';
import { predictivityFamily } from './predictivity.js';
import { permutationFamily, procrustesFamily, shapeFamily, softMatchFamily } from './procrustes.js';
import { DISTANCE_CORRELATION_FAMILY, RSM_NORM_DIFFERENCE_FAMILY } from './rsmMeasures.js';

export const PAIRWISE_FAMILIES: PairwiseFamily[] = [
  procrustesFamily as PairwiseFamily,
  shapeFamily as PairwiseFamily,
  permutationFamily as PairwiseFamily,
  softMatchFamily as PairwiseFamily,
  ccaFamily as PairwiseFamily,
  svccaFamily as PairwiseFamily,
  pwccaFamily as PairwiseFamily,
  predictivityFamily as PairwiseFamily,
  ...(NEIGHBOURHOOD_FAMILIES as readonly PairwiseFamily[]),
  RSM_NORM_DIFFERENCE_FAMILY as PairwiseFamily,
  DISTANCE_CORRELATION_FAMILY as PairwiseFamily,
  EIGENSPACE_OVERLAP_FAMILY as PairwiseFamily,
];
