import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // ORT sessions use both cores themselves; two test workers keep CI (2 cores) busy without thrashing.
    maxWorkers: 2,
  },
});
