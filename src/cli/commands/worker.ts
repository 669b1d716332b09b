import { Option, type Command } from '../commander.js';
import { parseQueueUrl } from '../../queue/connection.js';
import { Roots } from '../../queue/roots.js';
import { formatStatus, queueStatus } from '../../queue/status.js';
import { startWorker } from '../../queue/worker.js';
import { collect, parseNumber, UsageError } from '../util.js';

/** `taskmap queue status` and `taskmap worker --status`: print the queue's jobs (or JSON). */
async function printStatus(url: string, json: boolean | undefined): Promise<void> {
  const s = await queueStatus(url);
  process.stdout.write(json ? `${JSON.stringify(s, null, 1)}\n` : `${formatStatus(s)}\n`);
}

export function register(program: Command): void {
  program
    .command('worker')
    .summary('take extraction and similarity jobs from a Redis queue (run one or more on each machine)')
    .description(
      [
        'Serve a taskmap job queue: run the jobs that `taskmap extract --queue URL` and',
        '`taskmap similarity --queue URL` enqueue, until stopped (Ctrl-C finishes the running jobs first).',
        'Start any number of workers on any number of machines; they must see the shared folders (images,',
        'models, outputs) at the same paths as the coordinator, and --root says which folders those are:',
        'a job that names a path outside every root is refused. A worker killed mid-job loses nothing: after',
        '--lock seconds another worker takes the job over.',
        '',
        'The URL: redis://[:PASSWORD@]HOST[:PORT][/DB], or rediss://… for TLS (TASKMAP_QUEUE_CA=ca.pem for a',
        'private CA). The password is never printed.',
        '',
        'Example:',
        '  taskmap worker --queue redis://:secret@queue-host:6379 --root /shared --concurrency 2',
      ].join('\n'),
    )
    .requiredOption('--queue <url>', 'the Redis queue: redis://[:password@]host[:port][/db] or rediss://…')
    .option('--root <dir>', 'a folder jobs may read and write (repeatable); required unless --status', collect, [])
    .option('--concurrency <n>', 'jobs run at once by this worker (ONNX threads are shared among them)', '1')
    .option('--lock <seconds>', 'lock time of a running job: a dead worker’s job is taken over after this long', '30')
    .option('--status', 'print the queue’s pending, active and failed jobs and exit (as `taskmap queue status`)')
    .option('--json', 'with --status: print JSON')
    .addOption(new Option('--test-pause <ms>', 'fault-injection for tests: pause before each output chunk of a shard').hideHelp())
    .action(async (o: { queue: string; root: string[]; concurrency: string; lock: string; status?: boolean; json?: boolean; testPause?: string }) => {
      if (o.status) return printStatus(o.queue, o.json);
      if (o.root.length === 0) throw new UsageError('give at least one --root: the shared folder(s) jobs may read and write');
      const concurrency = parseNumber(o.concurrency, '--concurrency', { integer: true, min: 1 });
      const lockMs = parseNumber(o.lock, '--lock', { min: 1 }) * 1000;
      const target = parseQueueUrl(o.queue);
      const roots = await Roots.of(o.root);
      const stamp = () => new Date().toISOString().slice(11, 19);
      const pauseMs = o.testPause === undefined ? 0 : parseNumber(o.testPause, '--test-pause', { min: 0 });
      const worker = await startWorker({ target, roots, concurrency, lockMs, pauseMs, onLog: (m) => process.stderr.write(`${stamp()} ${m}\n`) });
      let stopping = false;
      const stop = () => {
        if (stopping) {
          process.stderr.write('stopping now\n');
          void worker.close(true);
          return;
        }
        stopping = true;
        process.stderr.write('stopping: finishing the running jobs (Ctrl-C again to stop at once)\n');
        void worker.close();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      try {
        await worker.closed;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });

  program
    .command('queue')
    .summary('inspect a Redis job queue: `taskmap queue status --queue URL`')
    .command('status')
    .description(
      'Jobs in the queue by state (waiting, active, delayed = a retry pending, failed, completed) and by kind, the failed jobs with their errors, and the number of connected workers.',
    )
    .requiredOption('--queue <url>', 'the Redis queue: redis://[:password@]host[:port][/db] or rediss://…')
    .option('--json', 'print JSON')
    .action((o: { queue: string; json?: boolean }) => printStatus(o.queue, o.json));
}
