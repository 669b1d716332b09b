import type { Scorer } from './types.js';

export const leep: Scorer = () => {
  throw new Error('leep: not implemented yet');
};
export const nce: Scorer = () => {
  throw new Error('nce: not implemented yet');
};
