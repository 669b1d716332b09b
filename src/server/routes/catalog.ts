/** Read-only routes: health, the measure registry, what the data roots hold, and one feature set's members. */
import type { FastifyInstance } from 'fastify';
import { EVAL_METRICS } from '../../ops/evaluate.js';
import { describe, describeRepresentation, findEntryInput, measureListing } from '../../ops/measures.js';
import { POLICY_OBJECTIVES, POLICY_SOLVERS } from '../../ops/policy.js';
import { PRECISIONS } from '../../ops/similarity.js';
import { LINKAGES } from '../../ops/taxonomy.js';
import { checkedInput, resolveFeatureSet, type ServerContext } from '../context.js';
import { measureQuerySchema, OBJECTIVE_NAMES, pathQuerySchema } from '../schemas.js';

export function registerCatalogRoutes(app: FastifyInstance, ctx: ServerContext, version: string): void {
  app.get('/api/health', async () => ({ ok: true, name: 'taskmap', version, roots: ctx.sandbox.roots.map((r) => ({ name: r.name, writable: r.writable })) }));

  /**
   * The measure catalogue as the UI needs it: representation families with their parameter specs and the named
   * standard settings (the feature-set forms), every catalogued family of every input kind, the label-based scores
   * (with their requirements, standard settings, and the score table's columns), and the other lists
   * the forms offer (`objectives`: every name the policy accepts, aliases included; `policyObjectives`: the distinct
   * objectives, one id each, for a form's options).
   */
  app.get('/api/measures', async () => {
    const { families, measures, catalogue, scores, standardScores, rankAll } = measureListing();
    return {
      families,
      measures,
      catalogue,
      scores,
      standardScores,
      rankAll,
      linkages: LINKAGES,
      metrics: EVAL_METRICS,
      objectives: OBJECTIVE_NAMES,
      policyObjectives: POLICY_OBJECTIVES,
      solvers: POLICY_SOLVERS,
      precisions: PRECISIONS,
    };
  });

  app.get<{ Querystring: { id: string } }>('/api/measures/describe', { schema: { querystring: measureQuerySchema } }, async (req) =>
    checkedInput('id', () =>
      findEntryInput(req.query.id) === 'representations' || findEntryInput(req.query.id) === undefined
        ? describeRepresentation(req.query.id)
        : describe(req.query.id),
    ),
  );

  app.get('/api/datasets', async () => ctx.catalog.list());

  app.get<{ Querystring: { path: string } }>('/api/featureset', { schema: { querystring: pathQuerySchema } }, async (req) => {
    const p = await resolveFeatureSet(ctx, req.query.path);
    const { set, families } = await ctx.store.featureSet(p);
    return {
      path: p.ref,
      images: set.n,
      members: set.members.map((m) => ({ label: m.label, features: m.p, shape: m.shape, dtype: m.data instanceof Float32Array ? 'float32' : 'float64' })),
      families,
    };
  });
}
