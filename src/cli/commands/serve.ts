import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
// Light modules (no Fastify): their defaults show in --help.
import { DEFAULT_MAX_ACTIVE_JOBS } from '../../server/jobs.js';
import { DEFAULT_WORKER_LIMITS } from '../../server/workers.js';
import { collect, parseNumber, UsageError } from '../util.js';

/** Where `taskmap demo` writes by default; served automatically when it exists. */
const DEMO_DIR = 'taskmap-demo';

interface ServeOptions {
  port: string;
  host: string;
  dataRoot?: string[];
  uploadDir?: string;
  maxUploadMb: string;
  timeLimit: string;
  workerMemoryMb: string;
  jobTimeLimit: string;
  readTimeLimit: string;
  maxJobs: string;
}

/** After a stop signal, how long closing may take before the process exits anyway, ms. */
const STOP_GRACE_MS = 3000;

export function register(program: Command): void {
  program
    .command('serve')
    .summary('HTTP API and web UI: similarity explorer and Taskonomy explorer')
    .description(
      [
        'Serve the library over HTTP with the interactive web UI (built into',
        'dist/web by `npm run build`). Open the printed address in a browser.',
        '',
        'The server reads only inside its data roots: ./taskmap-demo (what',
        '`taskmap demo` writes) when it exists, plus every --data-root. Feature',
        'sets (folders of .npy, .npz, .safetensors) and Taskonomy files (.pkl or',
        '.json result dicts, tournaments, losses CSV) found there are listed in',
        'the UI. Uploads go to --upload-dir (default: a temporary folder removed',
        'when the server stops). Paths leaving a root (.., absolute paths,',
        'symlinks to elsewhere) are refused.',
        '',
        'It listens on 127.0.0.1 only, unless --host says otherwise. Files are',
        'read, and jobs and the Taskonomy computations run, in worker processes',
        'limited to --worker-memory-mb and --job-time-limit / --read-time-limit; a',
        'job, upload or request past a limit fails with a message saying so, and',
        'the server keeps running.',
        '',
        'Example (the published Taskonomy files):',
        '  taskmap serve --data-root ../shared/data/taskonomy',
      ].join('\n'),
    )
    .option('-p, --port <n>', 'port (0 = any free port)', '8377')
    .option('--host <address>', 'address to listen on; anything but loopback exposes your data roots to the network', '127.0.0.1')
    .option('-d, --data-root <dir>', 'folder to serve files from (repeatable)', collect)
    .option('--upload-dir <dir>', 'keep uploads in this folder (default: temporary)')
    .option('--max-upload-mb <n>', 'largest accepted upload per file, MiB', '256')
    .option('--time-limit <s>', 'default HiGHS time limit per policy solve, seconds', '30')
    .option('--worker-memory-mb <n>', 'memory a job or an upload being read may use, MiB', String(DEFAULT_WORKER_LIMITS.memoryMb))
    .option('--job-time-limit <s>', 'wall-clock limit per background job, seconds', String(DEFAULT_WORKER_LIMITS.jobTimeLimit))
    .option('--read-time-limit <s>', 'wall-clock limit for reading one uploaded file, seconds', String(DEFAULT_WORKER_LIMITS.readTimeLimit))
    .option('--max-jobs <n>', 'jobs that may be queued or running at once (more are refused with 429)', String(DEFAULT_MAX_ACTIVE_JOBS))
    .action(async (o: ServeOptions) => {
      // Loaded here, not at the top: every other command would otherwise pay for loading the server framework.
      const { buildServer, isLoopback } = await import('../../server/app.js');
      const port = parseNumber(o.port, '--port', { integer: true, min: 0 });
      if (port > 65535) throw new UsageError(`--port must be at most 65535, got ${port}`);
      const roots = (o.dataRoot ?? []).map((d) => resolve(d));
      for (const d of roots) {
        if (!existsSync(d) || !statSync(d).isDirectory()) throw new UsageError(`--data-root ${d}: no such folder`);
      }
      if (existsSync(DEMO_DIR) && statSync(DEMO_DIR).isDirectory()) roots.unshift(resolve(DEMO_DIR));
      const server = await buildServer({
        dataRoots: roots,
        uploadDir: o.uploadDir,
        maxUploadBytes: parseNumber(o.maxUploadMb, '--max-upload-mb', { min: 1 }) * 1024 * 1024,
        host: o.host,
        defaultTimeLimit: parseNumber(o.timeLimit, '--time-limit', { min: 0.001 }),
        workerLimits: {
          memoryMb: parseNumber(o.workerMemoryMb, '--worker-memory-mb', { integer: true, min: 64 }),
          jobTimeLimit: parseNumber(o.jobTimeLimit, '--job-time-limit', { min: 1 }),
          readTimeLimit: parseNumber(o.readTimeLimit, '--read-time-limit', { min: 1 }),
        },
        maxActiveJobs: parseNumber(o.maxJobs, '--max-jobs', { integer: true, min: 1 }),
      });
      if (!isLoopback(o.host)) {
        process.stderr.write(`warning: listening on ${o.host}: anyone who can reach this address can read your data roots\n`);
      }
      const address = await server.app.listen({ port, host: o.host });
      const shown = address.replace('://[::1]', '://localhost');
      process.stdout.write(`taskmap serve: ${shown}/\n`);
      process.stdout.write(
        `data roots: ${server.ctx.sandbox.roots.map((r) => `${r.name} = ${r.dir}${r.writable ? ' (writable: uploads)' : ''}`).join(', ')}\n`,
      );
      if (!server.ctx.sandbox.roots.some((r) => !r.writable)) {
        process.stdout.write('no data roots yet: run `taskmap demo` here, pass --data-root DIR, or upload files in the UI\n');
      }
      await new Promise<void>((done) => {
        let stopping = false;
        const stop = (signal: NodeJS.Signals) => {
          // A second Ctrl-C means now.
          if (stopping) process.exit(130);
          stopping = true;
          process.stdout.write(`${signal}: stopping (running jobs are cancelled)…\n`);
          // Closing cancels jobs and terminates the workers; should anything still hang, exit regardless.
          setTimeout(() => process.exit(1), STOP_GRACE_MS).unref();
          server.close().then(done, done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
