import type { Scorer } from './types.js';

export const parc: Scorer = () => {
  throw new Error('parc: not implemented yet');
};
