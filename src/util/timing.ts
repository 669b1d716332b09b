/** Wall time per named stage, accumulated into `timings` (seconds): what the demo and its report show. */
export function stageTimer(timings: Record<string, number>): <T>(stage: string, f: () => Promise<T>) => Promise<T> {
  return async (stage, f) => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      timings[stage] = (timings[stage] ?? 0) + (performance.now() - t0) / 1000;
    }
  };
}
