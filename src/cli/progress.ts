/**
 * A progress bar on stderr for long loops. When stderr is not a terminal (logs, pipes, CI) it prints a plain
 * line at most every 10 s instead, so a long run still shows it is alive without flooding the log.
 */
import { createRequire } from 'node:module';

/** cli-progress, loaded only when a bar is drawn: logs, pipes and scripts never pay its start-up. */
function loadCliProgress(): typeof import('cli-progress') {
  return createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
}

export interface Progress {
  update(done: number, total: number, label?: string): void;
  stop(): void;
}

export function progressBar(title: string, enabled = Boolean(process.stderr.isTTY)): Progress {
  if (!enabled) return plainProgress(title);
  const cliProgress = loadCliProgress();
  const bar = new cliProgress.SingleBar(
    {
      format: `${title} [{bar}] {value}/{total} | {rate}/s | ETA {eta_formatted} | {label}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const t0 = Date.now();
  return {
    update(done, total, label = '') {
      if (!started) {
        bar.start(total, 0, { label, rate: '0.0' });
        started = true;
      }
      const rate = (done / Math.max(1e-3, (Date.now() - t0) / 1000)).toFixed(1);
      bar.setTotal(total);
      bar.update(done, { label, rate });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

const PLAIN_INTERVAL_MS = 10_000;

function plainProgress(title: string): Progress {
  const t0 = Date.now();
  let last = t0;
  let latest = '';
  return {
    update(done, total, label = '') {
      const now = Date.now();
      latest = `${title}: ${done}/${total}${label ? ` (${label})` : ''}`;
      if (now - last >= PLAIN_INTERVAL_MS) {
        last = now;
        process.stderr.write(`${latest}, ${((now - t0) / 1000).toFixed(0)} s\n`);
      }
    },
    stop() {
      // Close a run that printed progress with its final count; short runs stay silent.
      if (last !== t0) process.stderr.write(`${latest}, done in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    },
  };
}

/**
 * One bar per stage of a multi-stage run: a new stage stops the bars of the others. `update` has the shape of the
 * benchmarks' `onProgress(stage, done, total, what)`; `stop` ends whatever is still drawn.
 */
export function stageBars(): { update: (stage: string, done: number, total: number, what: string) => void; stop: () => void } {
  const bars = new Map<string, Progress>();
  return {
    update: (stage, done, total, what) => {
      for (const [k, b] of bars) {
        if (k === stage) continue;
        b.stop();
        bars.delete(k);
      }
      let bar = bars.get(stage);
      if (!bar) bars.set(stage, (bar = progressBar(stage)));
      bar.update(done, total, what);
    },
    stop: () => {
      for (const b of bars.values()) b.stop();
      bars.clear();
    },
  };
}
