/**
 * `taskmap queue status`: what is in the queue — jobs waiting, running, delayed (a retry pending) and failed, by
 * job kind; the failed ones by title with their error; and how many workers are connected.
 */
import { connectQueue, parseQueueUrl, QUEUE_NAME, redact } from './connection.js';

export const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
export type State = (typeof STATES)[number];

export interface QueueStatus {
  /** The queue URL without its password. */
  queue: string;
  name: string;
  counts: Record<State, number>;
  /** Jobs per kind and state, from at most `sample` jobs per state. */
  byKind: Record<string, Partial<Record<State, number>>>;
  failed: { id: string; kind: string; title: string; attempts: number; error: string; finishedOn?: string }[];
  /** Connected workers, or undefined when the server does not allow listing clients. */
  workers?: number;
}

export async function queueStatus(url: string, opts: { sample?: number; failed?: number } = {}): Promise<QueueStatus> {
  const target = parseQueueUrl(url);
  const queue = await connectQueue(target);
  const sample = opts.sample ?? 1000;
  try {
    const raw = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed', 'paused');
    const counts: Record<State, number> = {
      waiting: (raw.waiting ?? 0) + (raw.prioritized ?? 0) + (raw.paused ?? 0),
      active: raw.active ?? 0,
      delayed: raw.delayed ?? 0,
      failed: raw.failed ?? 0,
      completed: raw.completed ?? 0,
    };
    const byKind: QueueStatus['byKind'] = {};
    for (const state of ['waiting', 'active', 'delayed', 'failed'] as const) {
      const types = state === 'waiting' ? (['waiting', 'prioritized', 'paused'] as const) : ([state] as const);
      const jobs = await queue.getJobs([...types], 0, sample - 1);
      for (const j of jobs) {
        if (!j) continue;
        const k = (byKind[j.name] ??= {});
        k[state] = (k[state] ?? 0) + 1;
      }
    }
    const failedJobs = await queue.getFailed(0, (opts.failed ?? 20) - 1);
    const failed = failedJobs
      .filter((j) => j)
      .map((j) => {
        const title = (j.data as { title?: unknown } | undefined)?.title;
        return {
          id: String(j.id),
          kind: j.name,
          title: typeof title === 'string' ? title.slice(0, 300) : '',
          attempts: j.attemptsMade,
          error: redact(j.failedReason ?? '', target),
          ...(j.finishedOn ? { finishedOn: new Date(j.finishedOn).toISOString() } : {}),
        };
      });
    const workers = await queue.getWorkersCount().catch(() => undefined);
    return { queue: target.display, name: QUEUE_NAME, counts, byKind, failed, ...(workers === undefined ? {} : { workers }) };
  } catch (e) {
    if (e instanceof Error) e.message = redact(e.message, target);
    throw e;
  } finally {
    await queue.close().catch(() => undefined);
  }
}

/** The status as the lines `taskmap queue status` prints. */
export function formatStatus(s: QueueStatus): string {
  const lines = [
    `queue "${s.name}" on ${s.queue}${s.workers === undefined ? '' : `: ${s.workers} worker${s.workers === 1 ? '' : 's'} connected`}`,
    `  ${STATES.map((st) => `${st} ${s.counts[st]}`).join(', ')}`,
  ];
  const kinds = Object.keys(s.byKind).sort();
  if (kinds.length) {
    lines.push('  by kind:');
    for (const k of kinds) {
      const c = s.byKind[k];
      lines.push(`    ${k.padEnd(20)} ${(['waiting', 'active', 'delayed', 'failed'] as const).map((st) => `${st} ${c[st] ?? 0}`).join(', ')}`);
    }
  }
  if (s.failed.length) {
    lines.push(`  failed jobs${s.counts.failed > s.failed.length ? ` (latest ${s.failed.length} of ${s.counts.failed})` : ''}:`);
    for (const f of s.failed) lines.push(`    ${f.kind} ${f.title || f.id} (${f.attempts} attempt${f.attempts === 1 ? '' : 's'}): ${f.error}`);
  }
  return lines.join('\n');
}
