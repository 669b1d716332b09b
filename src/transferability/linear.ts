import type { Scorer } from './types.js';

export const linear: Scorer = () => {
  throw new Error('linear: not implemented yet');
};
