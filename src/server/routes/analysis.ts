/**
 * Similarity, taxonomy, source ranking and evaluation: background jobs over feature sets and matrices. Every
 * number comes from the library (similarityMatrix, linkage/leafOrder/cutTree/toNewick, classicalMds,
 * rankSources, evaluatePrediction / evaluateMeasures); this module only resolves inputs and shapes the JSON.
 */
import type { FastifyInstance } from 'fastify';
import { evaluatePrediction } from '../../evaluate/evaluate.js';
import { evaluateMeasures } from '../../evaluate/harness.js';
import { labelledMatrixToJson } from '../../io/labelledMatrix.js';
import type { LabelledMatrix, LabelledMatrixJson } from '../../linalg/labelled.js';
import { describeMeasure, type MeasureInfo } from '../../measures/registry.js';
import { similarityMatrix } from '../../measures/similarity.js';
import { cutTree, leafOrder, linkage, similarityToDistance, toNewick, toTree, type Linkage } from '../../taxonomy/cluster.js';
import { classicalMds } from '../../taxonomy/mds.js';
import { rankSources, type RankResult } from '../../taxonomy/rank.js';
import { checkedMeasure, fileKey, resolveFeatureSet, sendJob, type ServerContext } from '../context.js';
import { badRequest } from '../errors.js';
import type { Progress } from '../jobs.js';
import type { ResolvedPath } from '../sandbox.js';
import {
  evaluateSchema,
  rankSchema,
  similaritySchema,
  taxonomySchema,
  type EvaluateBody,
  type Precision,
  type RankBody,
  type SimilarityBody,
  type TaxonomyBody,
} from '../schemas.js';

async function similarityOf(
  ctx: ServerContext,
  fs: ResolvedPath,
  measure: string,
  precision: Precision | undefined,
  report: (p: Progress) => void,
) {
  const loaded = await ctx.store.featureSet(fs);
  const sim = await similarityMatrix(loaded.set, measure, {
    cache: loaded.cache,
    precision,
    onProgress: (done, total, label) => report({ done, total, label, stage: 'preparing models' }),
  });
  return { loaded, sim };
}

/**
 * Tree, leaf order, flat clusters and a 2-D classical MDS map of a similarity (or distance) matrix; distances
 * are 1 − similarity, as in the CLI's `taxonomy --similarity`.
 */
function taxonomyOf(sim: LabelledMatrix, isDistance: boolean, method: Linkage, k: number | undefined, families: Record<string, string> | null) {
  const n = sim.rows.length;
  if (n < 2) throw new Error(`a taxonomy needs at least 2 items, got ${n}`);
  if (sim.rows.some((r, i) => r !== sim.cols[i])) throw new Error('a square matrix with the same row and column labels is needed for a taxonomy');
  const distances = isDistance ? sim.matrix : similarityToDistance(sim.matrix, sim.rows);
  const tree = linkage(distances, method, sim.rows);
  const familyCount = families ? new Set(sim.rows.map((l) => families[l]).filter(Boolean)).size : 0;
  const clusters = Math.min(n, k ?? (familyCount >= 2 ? familyCount : Math.min(3, n)));
  const mds = classicalMds(distances, Math.min(2, n));
  const labels = cutTree(tree, clusters);
  const top = Math.abs(mds.eigenvalues[0]);
  return {
    labels: sim.rows,
    linkage: method,
    distance: isDistance ? 'given' : '1 - similarity',
    merges: tree.merges,
    tree: toTree(tree),
    newick: toNewick(tree),
    leafOrder: leafOrder(tree).map((i) => sim.rows[i]),
    k: clusters,
    clusters: Object.fromEntries(sim.rows.map((l, i) => [l, labels[i]])),
    mds: {
      coords: Object.fromEntries(sim.rows.map((l, i) => [l, Array.from(mds.coords.data.subarray(i * mds.coords.cols, (i + 1) * mds.coords.cols))])),
      explained: mds.explained,
      negativeEigenvalues: Array.from(mds.eigenvalues).filter((v) => v < -1e-9 * top).length,
    },
  };
}

/** What `/api/taxonomy` returns (the UI's type). */
export type TaxonomyPayload = ReturnType<typeof taxonomyOf> & {
  source: { featureSet?: string; matrix?: string };
  images?: number;
  measure: MeasureInfo | null;
  similarity: LabelledMatrixJson;
  families: Record<string, string> | null;
};

/** What `/api/rank` returns. */
export type RankPayload = RankResult & { featureSet: string; families: Record<string, string> | null };

export function registerAnalysisRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: SimilarityBody }>('/api/similarity', { schema: { body: similaritySchema } }, async (req, reply) => {
    const b = req.body;
    const fs = await resolveFeatureSet(ctx, b.featureSet);
    const measure = checkedMeasure(b.measure);
    const inputs = { featureSet: await fileKey(fs), measure, precision: b.precision ?? 'float64' };
    return sendJob(ctx, reply, 'similarity', inputs, async (report) => {
      const { loaded, sim } = await similarityOf(ctx, fs, measure, b.precision, report);
      return {
        featureSet: fs.ref,
        images: loaded.set.n,
        measure: describeMeasure(measure),
        matrix: labelledMatrixToJson(sim),
        families: loaded.families,
      };
    });
  });

  app.post<{ Body: TaxonomyBody }>('/api/taxonomy', { schema: { body: taxonomySchema } }, async (req, reply) => {
    const b = req.body;
    if (Boolean(b.featureSet) === Boolean(b.matrix)) throw badRequest('give exactly one of "featureSet" (with "measure") or "matrix"');
    if (b.featureSet && !b.measure) throw badRequest('"measure" is required with "featureSet"');
    if (b.matrix && b.measure) throw badRequest('"measure" applies only to "featureSet"; a matrix file carries its own');
    const method = b.linkage ?? 'average';
    if (b.featureSet) {
      const fs = await resolveFeatureSet(ctx, b.featureSet);
      const measure = checkedMeasure(b.measure!);
      const inputs = { featureSet: await fileKey(fs), measure, precision: b.precision ?? 'float64', linkage: method, clusters: b.clusters };
      return sendJob(ctx, reply, 'taxonomy', inputs, async (report) => {
        const { loaded, sim } = await similarityOf(ctx, fs, measure, b.precision, report);
        const info = describeMeasure(measure);
        return {
          source: { featureSet: fs.ref },
          images: loaded.set.n,
          measure: info,
          similarity: labelledMatrixToJson(sim),
          families: loaded.families,
          ...taxonomyOf(sim, !info.largerIsMoreSimilar, method, b.clusters, loaded.families),
        };
      });
    }
    const mp = await ctx.sandbox.resolveExisting(b.matrix, 'matrix');
    const inputs = { matrix: await fileKey(mp), linkage: method, clusters: b.clusters };
    return sendJob(ctx, reply, 'taxonomy', inputs, async () => {
      const m = await ctx.store.matrix(mp);
      // The matrix's own measure id decides its direction; a file without one is taken as a similarity.
      let info = null;
      try {
        info = m.measure !== undefined ? describeMeasure(m.measure) : null;
      } catch {
        info = null; // another tool's id: not in our registry
      }
      return {
        source: { matrix: mp.ref },
        measure: info,
        similarity: labelledMatrixToJson(m),
        families: null,
        ...taxonomyOf(m, info ? !info.largerIsMoreSimilar : false, method, b.clusters, null),
      };
    });
  });

  app.post<{ Body: RankBody }>('/api/rank', { schema: { body: rankSchema } }, async (req, reply) => {
    const b = req.body;
    const fs = await resolveFeatureSet(ctx, b.featureSet);
    const measure = checkedMeasure(b.measure);
    const { featureSet: _f, measure: _m, ...rest } = b;
    const inputs = { featureSet: await fileKey(fs), measure, ...rest };
    return sendJob(ctx, reply, 'rank', inputs, async (report) => {
      const loaded = await ctx.store.featureSet(fs);
      const draws = b.bootstrap ?? 0;
      report({ done: 0, total: Math.max(1, draws), stage: draws ? 'bootstrap draws' : 'scoring' });
      const result = await rankSources(
        loaded.set.members,
        { kind: 'member', label: b.target },
        {
          measure,
          bootstrap: b.bootstrap,
          subset: b.subset,
          seed: b.seed,
          groupBy: b.groupBy,
          separator: b.separator,
          precision: b.precision,
          onProgress: (done, total) => report({ done, total, stage: 'bootstrap draws' }),
        },
      );
      return { featureSet: fs.ref, families: loaded.families, ...result };
    });
  });

  app.post<{ Body: EvaluateBody }>('/api/evaluate', { schema: { body: evaluateSchema } }, async (req, reply) => {
    const b = req.body;
    if (Boolean(b.featureSet) === Boolean(b.predicted)) throw badRequest('give exactly one of "featureSet" (with "measures") or "predicted" (a matrix file)');
    if (b.featureSet && !b.measures) throw badRequest('"measures" is required with "featureSet"');
    if (b.predicted && b.measures) throw badRequest('"measures" applies only to "featureSet"');
    const truthPath = await ctx.sandbox.resolveExisting(b.truth, 'truth');
    const opts = { metric: b.metric, includeSelf: b.includeSelf, targets: b.targets, sources: b.sources, aliases: b.aliases };
    if (b.predicted) {
      const pp = await ctx.sandbox.resolveExisting(b.predicted, 'predicted');
      const inputs = { predicted: await fileKey(pp), truth: await fileKey(truthPath), ...opts };
      return sendJob(ctx, reply, 'evaluate', inputs, async () => {
        const [predicted, truth] = await Promise.all([ctx.store.matrix(pp), ctx.store.matrix(truthPath)]);
        return { predicted: pp.ref, truth: truthPath.ref, ...evaluatePrediction(predicted, truth, opts) };
      });
    }
    const fs = await resolveFeatureSet(ctx, b.featureSet);
    const measures = b.measures!.map((m, i) => checkedMeasure(m, `measures[${i}]`));
    const inputs = { featureSet: await fileKey(fs), measures, truth: await fileKey(truthPath), precision: b.precision ?? 'float64', ...opts };
    return sendJob(ctx, reply, 'evaluate', inputs, async (report) => {
      const [loaded, truth] = await Promise.all([ctx.store.featureSet(fs), ctx.store.matrix(truthPath)]);
      report({ done: 0, total: measures.length, stage: 'measures' });
      const out = await evaluateMeasures(loaded.set, truth, measures, {
        ...opts,
        cache: loaded.cache,
        precision: b.precision,
        onMeasure: (done, total, label) => report({ done, total, label, stage: 'measures' }),
      });
      return { featureSet: fs.ref, truth: truthPath.ref, ...out };
    });
  });
}
