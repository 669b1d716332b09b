import type { Scorer } from './types.js';

export const nleep: Scorer = () => {
  throw new Error('nleep: not implemented yet');
};
