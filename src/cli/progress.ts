/** A progress bar on stderr for long loops; silent when stderr is not a terminal (logs, pipes, CI). */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total: number, label?: string): void;
  stop(): void;
}

export function progressBar(title: string, enabled = Boolean(process.stderr.isTTY)): Progress {
  if (!enabled) return { update() {}, stop() {} };
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
