/** Cases that exercise the harness itself: each outcome it must be able to report. */
import type { AbuseCases } from './bounded.js';

export const cases: AbuseCases = {
  returns: () => 42,
  refuses: () => {
    throw new Error('refused: too big');
  },
  hogsHeap: () => {
    const keep: number[][] = [];
    for (;;) keep.push(new Array(1e6).fill(1.5));
  },
  hangs: () => new Promise(() => setInterval(() => undefined, 1000)),
};
