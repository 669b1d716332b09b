/**
 * The registered pairwise families (pairwise.ts), in listing order. Adding a family here is all it takes for its
 * ids to parse, be described, listed by every shell and computed by similarityMatrix / crossSimilarity /
 * pairSimilarity.
 */
import type { PairwiseFamily } from './pairwise.js';
import { ccaFamily, pwccaFamily, svccaFamily } from './cca.js';
import { predictivityFamily } from './predictivity.js';
import { permutationFamily, procrustesFamily, shapeFamily, softMatchFamily } from './procrustes.js';

export const PAIRWISE_FAMILIES: PairwiseFamily[] = [
  procrustesFamily as PairwiseFamily,
  shapeFamily as PairwiseFamily,
  permutationFamily as PairwiseFamily,
  softMatchFamily as PairwiseFamily,
  ccaFamily as PairwiseFamily,
  svccaFamily as PairwiseFamily,
  pwccaFamily as PairwiseFamily,
  predictivityFamily as PairwiseFamily,
];
