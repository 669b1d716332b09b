/**
 * Taskonomy: result dicts (affinities, win rates) as matrices, AHP from tournaments, supervision policies and
 * budget sweeps. Results info and matrix, AHP and a policy solve are answered inline but computed in the reads
 * worker (workers.ts): this process only validates, resolves paths and forwards, so a large or hostile file never
 * delays its other answers. One policy solve on the published files takes well under a second and the UI re-solves
 * on every slider move, so answers are cached here by input hash; the sweep, many solves, is a background job.
 */
import type { FastifyInstance } from 'fastify';
import { LimitError } from '../../io/limits.js';
import { checkPolicyProblem, defaultBudgets, parseObjective, type PolicyProblem, type PolicyResult } from '../../ops/policy.js';
import { checkedInput, fileKey, sendTask, type ServerContext } from '../context.js';
import { badRequest, forbidden, HttpError } from '../errors.js';
import { inputHash } from '../jobs.js';
import type { ResolvedPath } from '../sandbox.js';
import { Lru } from '../store.js';
import {
  ahpSchema,
  pathQuerySchema,
  policySchema,
  resultMatrixSchema,
  sweepSchema,
  type AhpBody,
  type PolicyBody,
  type ResultMatrixBody,
  type SweepBody,
} from '../schemas.js';
import type { PolicyFiles, PolicyOptions } from '../tasks.js';

/** Extra seconds the reads worker is given beyond the solver's own time limit (loading the dicts, building the model). */
const SOLVE_MARGIN_S = 30;

interface PolicyRequest {
  files: PolicyFiles;
  options: PolicyOptions;
  /** Identity of the inputs (file fingerprints + options) for caching. */
  key: unknown;
}

async function optionalPath(ctx: ServerContext, ref: string | undefined, what: string): Promise<ResolvedPath | undefined> {
  return ref === undefined ? undefined : ctx.sandbox.resolveExisting(ref, what);
}

/** A policy request's files resolved inside the data roots and its options checked; nothing is read here. */
async function policyRequest(ctx: ServerContext, b: Omit<PolicyBody, 'budget'> & { budget?: number }): Promise<PolicyRequest> {
  const [aff, gain, quality] = await Promise.all([
    ctx.sandbox.resolveExisting(b.affinities, 'affinities'),
    optionalPath(ctx, b.winsVsPixels, 'winsVsPixels'),
    optionalPath(ctx, b.winsVsTask, 'winsVsTask'),
  ]);
  const objective = checkedInput('objective', () => parseObjective(b.objective ?? 'affinity'));
  const options: PolicyOptions = {
    objective,
    budget: b.budget ?? 0,
    targets: b.targets,
    sourceOnly: b.sourceOnly,
    targetOnly: b.targetOnly,
    maxOrder: b.maxOrder,
    cost: b.cost,
    transferCost: b.transferCost,
    importance: b.importance,
    valueFloor: b.valueFloor,
    sourceOnlyBonus: b.sourceOnlyBonus,
  };
  const files: PolicyFiles = { affinities: aff };
  if (gain) files.winsVsPixels = gain;
  if (quality) files.winsVsTask = quality;
  const { affinities: _a, winsVsPixels: _g, winsVsTask: _q, ...rest } = b;
  const key = { affinities: await fileKey(aff), winsVsPixels: await fileKey(gain), winsVsTask: await fileKey(quality), ...rest, objective };
  return { files, options, key };
}

/** The library's problem-size refusal as a 413 naming the file; other refusals as checkedInput makes them (400). */
function checkedProblem<T>(ref: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof LimitError) throw new HttpError(413, 'too_large', e.message.includes(ref) ? e.message : `${ref}: ${e.message}`);
    throw badRequest(`policy: ${(e as Error).message}`);
  }
}

export function registerTaskonomyRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const policyCache = new Lru<string, Promise<PolicyResult>>(512);

  app.get<{ Querystring: { path: string } }>('/api/results/info', { schema: { querystring: pathQuerySchema } }, async (req) => {
    const p = await ctx.sandbox.resolveExisting(req.query.path, 'path');
    return ctx.workers.reads.run('resultsInfo', { path: p }, { what: `reading ${p.ref}` });
  });

  /**
   * First-order matrix of a result dict (rows = sources, cols = targets; missing transfers null); a view larger
   * than MAX_MATRIX_VIEW_CELLS (ops/results.ts) is refused with a 413 naming the file and the size.
   */
  app.post<{ Body: ResultMatrixBody }>('/api/results/matrix', { schema: { body: resultMatrixSchema } }, async (req, reply) => {
    const p = await ctx.sandbox.resolveExisting(req.body.path, 'path');
    const json = await ctx.workers.reads.run(
      'resultsMatrix',
      { path: p, sources: req.body.sources, targets: req.body.targets },
      { what: `the matrix of ${p.ref}` },
    );
    return reply.type('application/json; charset=utf-8').send(json);
  });

  app.post<{ Body: AhpBody }>('/api/ahp', { schema: { body: ahpSchema } }, async (req, reply) => {
    const b = req.body;
    const p = await ctx.sandbox.resolveExisting(b.tournaments, 'tournaments');
    let save: { root: string; base: string } | undefined;
    if (b.save) {
      const root = ctx.sandbox.roots.find((r) => r.writable);
      if (!root) throw forbidden('no writable data root to save into (start the server with an upload folder)');
      save = { root: root.name, base: b.save.replace(/\.json$/i, '') };
    }
    const json = await ctx.workers.reads.run('ahp', { tournaments: p, clip: b.clip, exclude: b.exclude, save }, { what: `the AHP of ${p.ref}` });
    return reply
      .code(save ? 201 : 200)
      .type('application/json; charset=utf-8')
      .send(json);
  });

  app.post<{ Body: PolicyBody }>('/api/policy', { schema: { body: policySchema } }, async (req) => {
    const t0 = performance.now();
    const { files, options, key } = await policyRequest(ctx, req.body);
    const hash = inputHash('policy', key);
    // Promises are cached, so a request arriving while the same problem is being solved (the UI prefetches the
    // next budget) waits for that solve instead of starting another.
    let pending = policyCache.get(hash);
    const cached = pending !== undefined;
    if (!pending) {
      const timeLimit = req.body.timeLimit ?? ctx.defaultTimeLimit;
      pending = ctx.workers.reads.run(
        'policy',
        { files, options, solver: req.body.solver, timeLimit },
        { what: `the policy on ${files.affinities.ref}`, timeLimitS: timeLimit + SOLVE_MARGIN_S },
      );
      policyCache.set(hash, pending);
      pending.catch(() => policyCache.delete(hash));
    }
    return { ...(await pending), cached, serverMs: performance.now() - t0 };
  });

  app.post<{ Body: SweepBody }>('/api/policy/sweep', { schema: { body: sweepSchema } }, async (req, reply) => {
    const b = req.body;
    const { files, options, key } = await policyRequest(ctx, b);
    const problem: PolicyProblem = { ...options, affinities: await ctx.store.resultDict(files.affinities) };
    if (files.winsVsPixels) problem.winsVsPixels = await ctx.store.resultDict(files.winsVsPixels);
    if (files.winsVsTask) problem.winsVsTask = await ctx.store.resultDict(files.winsVsTask);
    // Validate the problem (unknown tasks, roles, its size) now, so a bad request is a 4xx here and not a failed job.
    const ref = files.affinities.ref;
    const budgets = b.budgets ?? checkedProblem(ref, () => defaultBudgets(problem));
    if (b.budgets) checkedProblem(ref, () => checkPolicyProblem(problem));
    if (budgets.length === 0) throw badRequest('budgets: no budget to solve');
    const timeLimit = b.timeLimit ?? ctx.defaultTimeLimit;
    return sendTask(ctx, reply, 'sweep', { ...(key as object), budgets }, 'sweep', { problem, budgets, solver: b.solver, timeLimit });
  });
}
