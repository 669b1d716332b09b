import type { Scorer } from './types.js';

export const transrate: Scorer = () => {
  throw new Error('transrate: not implemented yet');
};
