/**
 * "Did you mean …?" for unknown names (members, layers, tasks): the suggestions every error about a name offers.
 */

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** Up to three labels that look like `name` (small edit distance, case-insensitive, or containing it). */
export function closeMatches(name: string, labels: readonly string[]): string[] {
  const q = name.toLowerCase();
  return labels
    .map((l) => {
      const low = l.toLowerCase();
      const d = editDistance(q, low);
      const contains = low.includes(q) || q.includes(low);
      return { l, score: contains ? Math.min(d, 1) : d, ok: contains || d <= Math.max(2, Math.floor(q.length / 3)) };
    })
    .filter((x) => x.ok)
    .sort((a, b) => a.score - b.score)
    .slice(0, 3)
    .map((x) => x.l);
}
