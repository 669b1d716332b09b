import type { Scorer } from './types.js';

export const knn: Scorer = () => {
  throw new Error('knn: not implemented yet');
};
