/**
 * `taskmap serve`: the library over HTTP (Fastify) plus the web UI built by Vite into dist/web.
 *
 * Security model: a local tool for one user. It binds to 127.0.0.1 by default; reads and writes only inside its
 * data roots (see sandbox.ts); and refuses requests whose Host header is not a loopback name (a web page on
 * another site cannot reach it through DNS rebinding) and state-changing requests whose Origin is another site
 * or `null` (no cross-site uploads or job floods from a page the user happens to visit, nor from a sandboxed
 * frame or a redirect, which send `Origin: null`). State-changing requests a page could send cross-site without
 * a CORS preflight (a form's multipart or text body, a body-less POST or DELETE) must also carry the
 * CSRF_HEADER, which no cross-site page can add without a preflight this server never grants; JSON bodies need
 * that preflight already.
 *
 * Files are parsed, jobs run and the Taskonomy routes compute (results matrix, AHP, policy) in worker processes
 * with memory and time limits (workers.ts), so a hostile upload or an oversized request or job fails on its own
 * while the server keeps answering.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import { Cataloguer, identifyFile } from './catalog.js';
import type { ServerContext } from './context.js';
import { forbidden, HttpError, toHttpError } from './errors.js';
import { JobQueue } from './jobs.js';
import { registerAnalysisRoutes } from './routes/analysis.js';
import { registerCatalogRoutes } from './routes/catalog.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerTaskonomyRoutes } from './routes/taskonomy.js';
import { registerUploadRoutes } from './routes/uploads.js';
import { Sandbox } from './sandbox.js';
import { Store } from './store.js';
import { Workers, type WorkerLimits } from './workers.js';

export interface ServerOptions {
  /** Folders the API may read (feature sets, result files). */
  dataRoots: string[];
  /** Writable folder for uploads and saved AHP results; default a fresh temporary folder, removed on close. */
  uploadDir?: string;
  /** Per-file upload limit in bytes (default 256 MiB). */
  maxUploadBytes?: number;
  /** Folder of the built UI; default dist/web of this package; null serves the API only. */
  uiDir?: string | null;
  /** The address the server will listen on; a non-loopback address turns the Host check off. */
  host?: string;
  /** Default HiGHS time limit per policy solve, seconds (default 30). */
  defaultTimeLimit?: number;
  /** Memory and wall-clock limits of the worker processes that read uploads and run jobs (see workers.ts). */
  workerLimits?: Partial<WorkerLimits>;
  /** Queued plus running jobs accepted before 429 (default 16). */
  maxActiveJobs?: number;
  logger?: boolean;
}

/** The header every state-changing request without a JSON body must carry (any non-empty value). */
export const CSRF_HEADER = 'x-taskmap-request';

export interface TaskmapServer {
  app: FastifyInstance;
  ctx: ServerContext;
  /** Stop listening, cancel queued and running jobs, stop the workers, remove the temporary upload folder. */
  close(): Promise<void>;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || /^127(\.\d{1,3}){3}$/.test(host);
}

function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  const colon = hostHeader.lastIndexOf(':');
  return (colon < 0 ? hostHeader : hostHeader.slice(0, colon)).toLowerCase();
}

/** The built UI shipped with the package: dist/web beside dist/server, or dist/web from the source tree. */
export function defaultUiDir(): string | null {
  for (const rel of ['../web', '../../dist/web']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return null;
}

async function packageVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const PARSED_TO_SNIFF = new Set(['.pkl', '.pickle', '.json']);

// No 'unsafe-eval': the UI runs Vega expressions through vega-interpreter instead of `new Function`.
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

export async function buildServer(opts: ServerOptions): Promise<TaskmapServer> {
  let uploadDir = opts.uploadDir;
  let removeUploads = false;
  if (!uploadDir) {
    uploadDir = await mkdtemp(join(tmpdir(), 'taskmap-uploads-'));
    removeUploads = true;
  }
  const sandbox = await Sandbox.create([...opts.dataRoots.map((dir) => ({ dir })), { dir: uploadDir, name: 'uploads', writable: true }]);
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: 1024 * 1024,
    // Open event streams would otherwise keep `close()` (Ctrl-C) waiting until their jobs finish.
    forceCloseConnections: true,
    // Unknown fields are errors and types are not coerced: a typo or a string budget is reported, not guessed.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
    schemaErrorFormatter: (errors, dataVar) => {
      const e = errors[0];
      const where = `${dataVar}${e.instancePath.replace(/\//g, '.')}`;
      const params = e.params as Record<string, unknown>;
      let message: string;
      if (e.keyword === 'additionalProperties') message = `${where}: unknown field "${String(params.additionalProperty)}"`;
      else if (e.keyword === 'required') message = `${where}: missing required field "${String(params.missingProperty)}"`;
      else if (e.keyword === 'enum') message = `${where} must be one of ${(params.allowedValues as unknown[]).join(', ')}`;
      else message = `${where} ${e.message ?? 'is invalid'}`;
      return new Error(message);
    },
  });
  const workers = new Workers(
    sandbox.roots.map((r) => ({ dir: r.dir, name: r.name, writable: r.writable })),
    opts.workerLimits,
    (m) => app.log.error(m),
  );
  const ctx: ServerContext = {
    sandbox,
    // Files of the Taskonomy routes (policy, AHP, result dicts) are parsed in the reads worker too: a hostile pickle
    // placed in a data root fails there, under the worker's limits, and the parsed result is cached here.
    store: new Store(sandbox, {
      resultDict: (abs, ref) => workers.reads.run('readResultDict', { abs, ref }, { what: `reading ${ref}` }),
      matrix: (abs, ref) => workers.reads.run('readMatrix', { abs, ref }, { what: `reading ${ref}` }),
      tournaments: (abs, ref) => workers.reads.run('readTournaments', { abs, ref }, { what: `reading ${ref}` }),
    }),
    jobs: new JobQueue({
      maxActive: opts.maxActiveJobs,
      redact: (m) => sandbox.redact(m),
      onError: (err, id) => app.log.error({ err, job: id }, 'job failed'),
    }),
    workers,
    // Pickles and JSON are parsed to be recognised: in the reads worker, so a hostile file in a data root is left
    // out of the listing instead of stalling it.
    catalog: new Cataloguer(sandbox, (abs, size) =>
      PARSED_TO_SNIFF.has(extname(abs).toLowerCase())
        ? workers.reads.run('identify', { abs, size }, { what: `reading ${sandbox.redact(abs)}` })
        : identifyFile(abs, size),
    ),
    maxUploadBytes: opts.maxUploadBytes ?? 256 * 1024 * 1024,
    defaultTimeLimit: opts.defaultTimeLimit ?? 30,
  };

  // Start the workers now (the reads worker loads the HiGHS WASM module at start), so the first policy request and
  // the first job or upload do not pay for it.
  workers.warm();

  const checkHost = opts.host === undefined || isLoopback(opts.host);
  app.addHook('onRequest', async (req) => {
    const host = req.headers.host;
    if (checkHost && (!host || !isLoopback(hostnameOf(host)))) {
      throw forbidden(`Host "${host ?? ''}" is not this machine: taskmap serve answers only to localhost / 127.0.0.1`);
    }
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return;
    const origin = req.headers.origin;
    if (origin === 'null') {
      throw forbidden('cross-site request from Origin "null" (a sandboxed frame, a local file or a redirect) refused');
    }
    if (origin !== undefined) {
      let originHost: string;
      try {
        originHost = new URL(origin).host;
      } catch {
        throw forbidden(`bad Origin header "${origin}"`);
      }
      if (originHost !== host) throw forbidden(`cross-site request from ${origin} refused`);
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const header = req.headers[CSRF_HEADER];
    if (type !== 'application/json' && (typeof header !== 'string' || header === '')) {
      throw forbidden(
        `${req.method} requests without a JSON body must carry the header "${CSRF_HEADER}: 1" (it proves the request comes from a page of this server, not a form on another site)`,
      );
    }
  });
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    if (req.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    else reply.header('content-security-policy', CSP);
    return payload;
  });
  app.setErrorHandler((err, req, reply) => {
    const { status, body } = toHttpError(err);
    if (status >= 500) req.log.error({ err }, 'request failed');
    body.error.message = sandbox.redact(body.error.message);
    return reply.code(status).send(body);
  });

  await app.register(fastifyMultipart, { limits: { fileSize: ctx.maxUploadBytes, fields: 16, fieldSize: 4096, parts: 1024 } });
  registerCatalogRoutes(app, ctx, await packageVersion());
  registerAnalysisRoutes(app, ctx);
  registerTaskonomyRoutes(app, ctx);
  registerUploadRoutes(app, ctx);
  registerJobRoutes(app, ctx);

  const uiDir = opts.uiDir === undefined ? defaultUiDir() : opts.uiDir;
  if (uiDir) {
    await app.register(fastifyStatic, { root: uiDir, prefix: '/', index: ['index.html'], dotfiles: 'deny', maxAge: 0 });
  } else {
    app.get('/', async (_req, reply) =>
      reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send(
          'The taskmap web UI is not built. Run `npm run build` in the taskmap folder (it builds dist/web), then restart `taskmap serve`. The API is at /api/.',
        ),
    );
  }
  app.setNotFoundHandler((req, reply) => {
    const err = new HttpError(404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`);
    return reply.code(404).send(toHttpError(err).body);
  });

  return {
    app,
    ctx,
    async close() {
      ctx.jobs.cancelAll('cancelled: the server is shutting down');
      workers.close();
      await app.close();
      if (removeUploads) await rm(uploadDir!, { recursive: true, force: true });
    },
  };
}
