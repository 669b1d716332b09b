/**
 * The user's thread count for the threaded steps (preparing members, bootstrap draws, scoring candidates):
 * `TASKMAP_THREADS` when it is a positive integer, else undefined (each step then picks its own default).
 */
export function envThreads(): number | undefined {
  const t = Number(process.env.TASKMAP_THREADS);
  return Number.isInteger(t) && t >= 1 ? t : undefined;
}
