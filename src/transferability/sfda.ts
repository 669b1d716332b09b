import type { Scorer } from './types.js';

export const sfda: Scorer = () => {
  throw new Error('sfda: not implemented yet');
};
