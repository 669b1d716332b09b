/**
 * Taskonomy: result dicts (affinities, win rates) as matrices, AHP from tournaments, supervision policies and
 * budget sweeps. The policy endpoint answers inline (one solve on the published files takes well under a second,
 * and the UI re-solves on every slider move), with answers cached by input hash; the sweep, many solves, is a
 * background job.
 */
import type { FastifyInstance } from 'fastify';
import { labelledMatrixToJson } from '../../io/labelledMatrix.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { ahpAffinities, AHP_CLIP } from '../../taskonomy/ahp.js';
import { checkPolicyProblem, defaultBudgets, parseObjective, solve, type PolicyProblem, type PolicyResult } from '../../ops/policy.js';
import { buildPolicyModel } from '../../taskonomy/policy.js';
import { firstOrderMatrix, parseResultDict, PSEUDO_SOURCES, type ResultDict } from '../../taskonomy/results.js';
import { GAIN_BASELINE, gainAndQuality } from '../../taskonomy/winrates.js';
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

/** Tasks of a result dict and the roles the policy gives them by default (from the library's own defaults). */
function describeDict(dict: ResultDict) {
  const keys = parseResultDict(dict);
  const pseudo = new Set<string>(PSEUDO_SOURCES);
  const tasks = new Set<string>();
  const pseudoPresent = new Set<string>();
  const orders: Record<number, number> = {};
  for (const k of keys) {
    orders[k.sources.length] = (orders[k.sources.length] ?? 0) + 1;
    for (const t of [...k.sources, k.target]) (pseudo.has(t) ? pseudoPresent : tasks).add(t);
  }
  const model = buildPolicyModel({ affinities: dict, budget: Number.MAX_VALUE, maxOrder: Math.max(1, ...keys.map((k) => k.sources.length)) });
  return {
    transfers: keys.length,
    orders,
    tasks: [...tasks].sort(),
    targets: [...new Set(keys.map((k) => k.target))].sort(),
    pseudoSources: [...pseudoPresent].sort(),
    defaultRoles: { targets: model.targets, sourceOnly: model.sourceOnly, targetOnly: model.targetOnly },
  };
}

export function registerTaskonomyRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const policyCache = new Lru<string, Promise<PolicyResult>>(512);

  app.get<{ Querystring: { path: string } }>('/api/results/info', { schema: { querystring: pathQuerySchema } }, async (req) => {
    const p = await ctx.sandbox.resolveExisting(req.query.path, 'path');
    return { path: p.ref, ...describeDict(await ctx.store.resultDict(p)) };
  });

  /** First-order matrix of a result dict (rows = sources, cols = targets; missing transfers null). */
  app.post<{ Body: ResultMatrixBody }>('/api/results/matrix', { schema: { body: resultMatrixSchema } }, async (req) => {
    const p = await ctx.sandbox.resolveExisting(req.body.path, 'path');
    const m = firstOrderMatrix(await ctx.store.resultDict(p), { sources: req.body.sources, targets: req.body.targets });
    return { path: p.ref, ...labelledMatrixToJson(m) };
  });

  app.post<{ Body: AhpBody }>('/api/ahp', { schema: { body: ahpSchema } }, async (req, reply) => {
    const b = req.body;
    const p = await ctx.sandbox.resolveExisting(b.tournaments, 'tournaments');
    const tournaments = await ctx.store.tournamentsOf(p);
    const { affinities, consistency } = ahpAffinities(tournaments, { clip: b.clip ?? AHP_CLIP, exclude: b.exclude });
    const gq = gainAndQuality(tournaments);
    // "Before AHP": the raw win rates of each transfer against the baseline (Gain when `pixels` competed);
    // "after": the AHP affinities. Both as first-order source × target matrices.
    const before = Object.keys(gq.winsVsPixels).length > 0 ? gq.winsVsPixels : gq.winsVsTask;
    const out: Record<string, unknown> = {
      tournaments: p.ref,
      targets: tournaments.length,
      consistency,
      affinities,
      winsVsPixels: gq.winsVsPixels,
      winsVsTask: gq.winsVsTask,
      before: Object.keys(before).length > 0 ? { baseline: before === gq.winsVsPixels ? GAIN_BASELINE : 'self', ...labelledMatrixToJson(firstOrderMatrix(before)) } : null,
      after: labelledMatrixToJson(firstOrderMatrix(affinities)),
    };
    if (b.save) {
      const root = ctx.sandbox.roots.find((r) => r.writable);
      if (!root) throw forbidden('no writable data root to save into (start the server with an upload folder)');
      const base = b.save.replace(/\.json$/i, '');
      const saved: Record<string, string> = {};
      for (const [role, dict] of [
        ['affinities', affinities],
        ['wins_vs_pixels', gq.winsVsPixels],
        ['wins_vs_task', gq.winsVsTask],
      ] as const) {
        if (Object.keys(dict).length === 0) continue;
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
