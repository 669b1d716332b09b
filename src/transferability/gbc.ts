import type { Scorer } from './types.js';

export const gbc: Scorer = () => {
  throw new Error('gbc: not implemented yet');
};
