import type { Scorer } from './types.js';

export const hscore: Scorer = () => {
  throw new Error('hscore: not implemented yet');
};
