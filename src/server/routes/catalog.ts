/** Read-only routes: health, the measure registry, what the data roots hold, and one feature set's members. */
import type { FastifyInstance } from 'fastify';
import { describeMeasure, FAMILIES, standardMeasureIds } from '../../measures/registry.js';
import { EVAL_METRICS } from '../../evaluate/evaluate.js';
import { LINKAGES } from '../../taxonomy/cluster.js';
import { checkedInput, resolveFeatureSet, type ServerContext } from '../context.js';
import { measureQuerySchema, OBJECTIVE_NAMES, pathQuerySchema } from '../schemas.js';

export function registerCatalogRoutes(app: FastifyInstance, ctx: ServerContext, version: string): void {
  app.get('/api/health', async () => ({ ok: true, name: 'taskmap', version, roots: ctx.sandbox.roots.map((r) => ({ name: r.name, writable: r.writable })) }));

  /** The registry as the UI needs it: families with their parameter specs, and the named standard settings. */
  app.get('/api/measures', async () => ({
    families: FAMILIES,
    measures: standardMeasureIds().map(describeMeasure),
    linkages: LINKAGES,
    metrics: EVAL_METRICS,
    objectives: OBJECTIVE_NAMES,
  }));

  app.get<{ Querystring: { id: string } }>('/api/measures/describe', { schema: { querystring: measureQuerySchema } }, async (req) =>
    checkedInput('id', () => describeMeasure(req.query.id)),
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
