/**
 * Taskonomy: result dicts (affinities, win rates) as matrices, AHP from tournaments, supervision policies and
 * budget sweeps. The policy endpoint answers inline (one solve on the published files takes well under a second,
 * and the UI re-solves on every slider move), with answers cached by input hash; the sweep, many solves, is a
 * background job.
 */
import type { FastifyInstance } from 'fastify';
import { labelledMatrixToJson } from '../../io/labelledMatrix.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { ahp, ahpBeforeAfter, ahpResultDicts } from '../../ops/ahp.js';
import { checkPolicyProblem, defaultBudgets, parseObjective, solve, type PolicyProblem, type PolicyResult } from '../../ops/policy.js';
import { describeResultDict, resultMatrix } from '../../ops/results.js';
import { checkedInput, fileKey, sendTask, type ServerContext } from '../context.js';
import { badRequest, forbidden } from '../errors.js';
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
import { uniqueUploadPath } from './uploads.js';

interface ResolvedProblem {
  problem: PolicyProblem;
  /** Identity of the inputs (file fingerprints + options) for caching. */
  key: unknown;
}

async function optionalPath(ctx: ServerContext, ref: string | undefined, what: string): Promise<ResolvedPath | undefined> {
  return ref === undefined ? undefined : ctx.sandbox.resolveExisting(ref, what);
}

async function policyProblem(ctx: ServerContext, b: Omit<PolicyBody, 'budget'> & { budget?: number }): Promise<ResolvedProblem> {
  const [aff, gain, quality] = await Promise.all([
    ctx.sandbox.resolveExisting(b.affinities, 'affinities'),
    optionalPath(ctx, b.winsVsPixels, 'winsVsPixels'),
    optionalPath(ctx, b.winsVsTask, 'winsVsTask'),
  ]);
  const objective = checkedInput('objective', () => parseObjective(b.objective ?? 'affinity'));
  const problem: PolicyProblem = {
    affinities: await ctx.store.resultDict(aff),
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
  if (gain) problem.winsVsPixels = await ctx.store.resultDict(gain);
  if (quality) problem.winsVsTask = await ctx.store.resultDict(quality);
  const { affinities: _a, winsVsPixels: _g, winsVsTask: _q, ...options } = b;
  const key = { affinities: await fileKey(aff), winsVsPixels: await fileKey(gain), winsVsTask: await fileKey(quality), ...options, objective };
  return { problem, key };
}

export function registerTaskonomyRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const policyCache = new Lru<string, Promise<PolicyResult>>(512);

  app.get<{ Querystring: { path: string } }>('/api/results/info', { schema: { querystring: pathQuerySchema } }, async (req) => {
    const p = await ctx.sandbox.resolveExisting(req.query.path, 'path');
    return { path: p.ref, ...describeResultDict(await ctx.store.resultDict(p)) };
  });

  /** First-order matrix of a result dict (rows = sources, cols = targets; missing transfers null). */
  app.post<{ Body: ResultMatrixBody }>('/api/results/matrix', { schema: { body: resultMatrixSchema } }, async (req) => {
    const p = await ctx.sandbox.resolveExisting(req.body.path, 'path');
    const m = resultMatrix(await ctx.store.resultDict(p), { sources: req.body.sources, targets: req.body.targets });
    return { path: p.ref, ...labelledMatrixToJson(m) };
  });

  app.post<{ Body: AhpBody }>('/api/ahp', { schema: { body: ahpSchema } }, async (req, reply) => {
    const b = req.body;
    const p = await ctx.sandbox.resolveExisting(b.tournaments, 'tournaments');
    const tournaments = await ctx.store.tournamentsOf(p);
    const r = ahp(tournaments, { clip: b.clip, exclude: b.exclude });
    const { before, after } = ahpBeforeAfter(r);
    const out: Record<string, unknown> = {
      tournaments: p.ref,
      targets: tournaments.length,
      consistency: r.consistency,
      affinities: r.affinities,
      winsVsPixels: r.winsVsPixels,
      winsVsTask: r.winsVsTask,
      before: before ? { baseline: before.baseline, ...labelledMatrixToJson(before.matrix) } : null,
      after: labelledMatrixToJson(after),
    };
    if (b.save) {
      const root = ctx.sandbox.roots.find((r) => r.writable);
      if (!root) throw forbidden('no writable data root to save into (start the server with an upload folder)');
      const base = b.save.replace(/\.json$/i, '');
      const saved: Record<string, string> = {};
      for (const { role, dict } of ahpResultDicts(r)) {
        const target = await uniqueUploadPath(ctx, root.name, `${base}${role === 'affinities' ? '-affinities' : `-${role}`}.json`);
        await writeFileAtomic(target.abs, `${JSON.stringify(dict, null, 1)}\n`);
        saved[role] = target.ref;
      }
      out.saved = saved;
      reply.code(201);
    }
    return out;
  });

  app.post<{ Body: PolicyBody }>('/api/policy', { schema: { body: policySchema } }, async (req) => {
    const t0 = performance.now();
    const { problem, key } = await policyProblem(ctx, req.body);
    const hash = inputHash('policy', key);
    // Promises are cached, so a request arriving while the same problem is being solved (the UI prefetches the
    // next budget) waits for that solve instead of starting another.
    let pending = policyCache.get(hash);
    const cached = pending !== undefined;
    if (!pending) {
      pending = solve(problem, { solver: req.body.solver, timeLimit: req.body.timeLimit ?? ctx.defaultTimeLimit });
      policyCache.set(hash, pending);
      pending.catch(() => policyCache.delete(hash));
    }
    return { ...(await pending), cached, serverMs: performance.now() - t0 };
  });

  app.post<{ Body: SweepBody }>('/api/policy/sweep', { schema: { body: sweepSchema } }, async (req, reply) => {
    const b = req.body;
    const { problem, key } = await policyProblem(ctx, b);
    // Validate the problem (unknown tasks, roles) now, so a bad request is a 4xx here and not a failed job.
    const budgets = b.budgets ?? checkedInput('policy', () => defaultBudgets(problem));
    if (b.budgets) checkedInput('policy', () => checkPolicyProblem(problem));
    if (budgets.length === 0) throw badRequest('budgets: no budget to solve');
    const timeLimit = b.timeLimit ?? ctx.defaultTimeLimit;
    return sendTask(ctx, reply, 'sweep', { ...(key as object), budgets }, 'sweep', { problem, budgets, solver: b.solver, timeLimit });
  });
}
