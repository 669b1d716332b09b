/**
 * Uploads into the writable data root: feature sets (.npz, .safetensors, one or more .npy files — several
 * .npy files form one folder set), Taskonomy inputs (result dicts as .json or .pkl, tournaments JSON, losses
 * CSV, labelled matrices) and, with `?kind=labels`, a ranking's target labels (.csv / .txt). Each file is streamed to a temporary name with a per-file size limit, then loaded
 * with the same library reader the analyses use, in the reads worker (so a hostile file that exhausts memory or
 * never finishes costs a worker, not the server); a file the reader refuses is deleted and its message returned
 * (4xx naming the file and the reason), so what is left in the root is always loadable. File names are reduced to a safe alphabet and never
 * overwrite an existing file.
 */
import type {} from '@fastify/multipart'; // its request augmentation (isMultipart, files), also when only these types are checked (web/)
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { badRequest, forbidden, HttpError } from '../errors.js';
import type { ResolvedPath } from '../sandbox.js';
import { uploadQuerySchema } from '../schemas.js';
import type { UploadKind } from '../tasks.js';

const FEATURE_EXTS = new Set(['.npy', '.npz', '.safetensors']);
const RESULT_EXTS = new Set(['.json', '.pkl', '.pickle', '.csv']);
/** `?kind=labels`: the target labels of a ranking (ops/rank.ts readTargetLabels reads them). */
const LABEL_EXTS = new Set(['.csv', '.txt']);
const MAX_FILES = 512;

/** A file name with only letters, digits, '.', '_' and '-', not starting with '.' or '-'. */
export function safeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const cleaned = base
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[.-]+/, '')
    .slice(-120);
  if (cleaned === '' || cleaned.startsWith('.')) throw badRequest(`file name "${name}" has no usable characters`);
  return cleaned;
}

/** `<root>/<name>`, or `<root>/<stem>-2<ext>`, … — never an existing file or folder. */
export async function uniqueUploadPath(ctx: Pick<ServerContext, 'sandbox'>, root: string, name: string): Promise<ResolvedPath> {
  const safe = safeFileName(name);
  const ext = extname(safe);
  const stem = safe.slice(0, safe.length - ext.length);
  for (let k = 1; k < 1000; k++) {
    const candidate = k === 1 ? safe : `${stem}-${k}${ext}`;
    const p = await ctx.sandbox.resolveForWrite(`${root}/${candidate}`, 'upload');
    if (!(await stat(p.abs).catch(() => undefined))) return p;
  }
  throw new HttpError(409, 'conflict', `too many uploads named like "${safe}"`);
}

interface Saved extends UploadKind {
  path: string;
  bytes: number;
}

export function registerUploadRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Querystring: { name?: string; kind?: 'labels' } }>('/api/uploads', { schema: { querystring: uploadQuerySchema } }, async (req, reply) => {
    const labels = req.query.kind === 'labels';
    if (!req.isMultipart()) throw new HttpError(415, 'unsupported_media_type', 'send the files as multipart/form-data (one or more "file" fields)');
    const root = ctx.sandbox.roots.find((r) => r.writable);
    if (!root) throw forbidden('this server has no writable data root for uploads');
    const tmpDir = join(root.dir, `.upload-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`);
    await mkdir(tmpDir);
    const files: { name: string; tmp: string; bytes: number }[] = [];
    try {
      for await (const part of req.files({ limits: { fileSize: ctx.maxUploadBytes, files: MAX_FILES } })) {
        const name = safeFileName(part.filename || 'upload');
        const ext = extname(name).toLowerCase();
        if (labels && !LABEL_EXTS.has(ext)) {
          part.file.resume();
          throw new HttpError(415, 'unsupported_media_type', `${name}: a labels upload is a .csv or .txt file (one label per image, or "image,label" rows)`);
        }
        if (!labels && !FEATURE_EXTS.has(ext) && !RESULT_EXTS.has(ext)) {
          part.file.resume();
          throw new HttpError(
            415,
            'unsupported_media_type',
            `${name}: unsupported file type "${ext}"; upload .npy/.npz/.safetensors feature sets or .json/.pkl/.csv Taskonomy files`,
          );
        }
        if (files.some((f) => f.name === name)) throw badRequest(`${name} is uploaded twice`);
        const tmp = join(tmpDir, name);
        await pipeline(part.file, createWriteStream(tmp, { flags: 'wx' }));
        if (part.file.truncated) {
          throw new HttpError(
            413,
            'too_large',
            `${name} is larger than the ${Math.round(ctx.maxUploadBytes / 1048576)} MiB upload limit (taskmap serve --max-upload-mb)`,
          );
        }
        files.push({ name, tmp, bytes: (await stat(tmp)).size });
      }
      if (files.length === 0) throw badRequest('no file in the upload (send one or more "file" fields)');
      const exts = files.map((f) => extname(f.name).toLowerCase());
      const saved: Saved[] = [];
      if (labels && req.query.name) throw badRequest('"name" names a folder of several .npy files; a labels upload keeps its file name');
      if (!labels && files.length > 1 && exts.every((e) => e === '.npy')) {
        // Several .npy files: one feature set folder, one member per file.
        const dir = await uniqueUploadPath(ctx, root.name, req.query.name ?? `featureset-${new Date().toISOString().slice(0, 10)}`);
        const set = await ctx.workers.reads.run('readNpyFolder', { dir: tmpDir, ref: dir.ref }, { what: `reading ${dir.ref}` });
        await rename(tmpDir, dir.abs);
        saved.push({ path: dir.ref, kind: 'featureSet', ...set, bytes: files.reduce((a, f) => a + f.bytes, 0) });
      } else {
        if (req.query.name) throw badRequest('"name" names a folder of several .npy files; other uploads keep their file names');
        for (const f of files) {
          const target = await uniqueUploadPath(ctx, root.name, f.name);
          const kind = await ctx.workers.reads.run(labels ? 'readLabels' : 'readUpload', { tmp: f.tmp, name: f.name }, { what: `reading ${f.name}` });
          await rename(f.tmp, target.abs);
          saved.push({ path: target.ref, bytes: f.bytes, ...kind });
        }
      }
      return reply.code(201).send({ saved });
    } finally {
      await rm(tmpDir, { recursive: true, force: true });
    }
  });
}
