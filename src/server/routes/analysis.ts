/**
 * Similarity, taxonomy, source ranking and evaluation: background jobs over feature sets and matrices. Every
 * number comes from the library (similarityMatrix, linkage/leafOrder/cutTree/toNewick, classicalMds,
 * rankSources, evaluatePrediction / evaluateMeasures, called in the jobs worker: see tasks.ts); this module only
 * checks and resolves the inputs and queues the work.
 */
import type { FastifyInstance } from 'fastify';
import type { LabelledMatrixJson } from '../../linalg/labelled.js';
import type { IntervalsJson } from '../../ops/inference.js';
import type { MeasureInfo } from '../../ops/measures.js';
import { checkedInput, checkedMeasure, fileKey, resolveFeatureSet, sendTask, type ServerContext } from '../context.js';
import { badRequest } from '../errors.js';
import {
  type BootstrapBody,
  evaluateSchema,
  permutationSchema,
  rankSchema,
  similaritySchema,
  taxonomySchema,
  type EvaluateBody,
  type PermutationBody,
  type RankBody,
  type SimilarityBody,
  type TaxonomyBody,
} from '../schemas.js';
import type { BootstrapArgs, TaskResult } from '../tasks.js';
import {
  ALL_MEASURES,
  DEFAULT_LABEL_SCORE,
  labelScoreId,
  labelsFileProblem,
  labelsRankingProblem,
  rankMeasure,
  targetFileKind,
  VIA_TRANSFERS_NEIGHBOURS,
  viaTransfersMeasureProblem,
  type TargetSpec,
} from '../../ops/rank.js';
import { DEFAULT_SEED } from '../../taxonomy/inference.js';
import { isScoreId } from '../../taxonomy/scoreColumns.js';

/** What `/api/taxonomy` returns (the UI's type). */
export type TaxonomyPayload = TaskResult<'taxonomyOfMatrix'> & {
  source: { featureSet?: string; matrix?: string };
  images?: number;
  measure: MeasureInfo | null;
  similarity: LabelledMatrixJson;
  families: Record<string, string> | null;
  /** With "bootstrap": per-cell mean, sd and percentile interval over the draws (the tree then carries split support). */
  intervals?: IntervalsJson;
};

/** What `/api/permutation` returns: the observed value, p, and every shuffled value (`null`, for a histogram). */
export type PermutationPayload = TaskResult<'permutation'>;

/** What `/api/rank` returns for one measure. */
export type RankPayload = TaskResult<'rank'>;

/** What `/api/rank` returns for measure "all": the score table (rankTable). */
export type RankTablePayload = TaskResult<'rankTable'>;

/** A request's viaNeighbours as the prediction takes it: "all" is every known task (the job keys keep "all"). */
function neighbourCount(v: number | 'all' | undefined): number | undefined {
  return v === 'all' ? Number.POSITIVE_INFINITY : v;
}

/** A ranking measure id (representation measure or score), canonical; 400 with the catalogue's message otherwise. */
function checkedRankMeasure(id: string, what: string): string {
  try {
    return rankMeasure(id);
  } catch (e) {
    throw badRequest(`${what}: ${(e as Error).message}`);
  }
}

/** The bootstrap options of a request, or undefined without "bootstrap"; the draw options alone are a 400. */
function bootstrapArgs(b: BootstrapBody): BootstrapArgs | undefined {
  if (b.bootstrap === undefined) {
    if (b.subset !== undefined || b.replacement !== undefined || b.seed !== undefined)
      throw badRequest('"subset", "replacement" and "seed" need "bootstrap" (the number of draws)');
    return undefined;
  }
  if (b.subset !== undefined && b.replacement) throw badRequest('"subset" sizes draws without replacement; with "replacement" every draw has all images');
  return { draws: b.bootstrap, subset: b.subset, replacement: b.replacement, seed: b.seed };
}

export function registerAnalysisRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: SimilarityBody }>('/api/similarity', { schema: { body: similaritySchema } }, async (req, reply) => {
    const b = req.body;
    const fs = await resolveFeatureSet(ctx, b.featureSet);
    const measure = checkedMeasure(b.measure);
    const bootstrap = bootstrapArgs(b);
    // Without bootstrap the inputs keep their old shape, so earlier jobs are still found.
    const inputs = { featureSet: await fileKey(fs), measure, precision: b.precision ?? 'float64', ...(bootstrap ?? {}) };
    return sendTask(ctx, reply, 'similarity', inputs, 'similarity', { fs, measure, precision: b.precision, bootstrap });
  });

  // The permutation test of one pair, as `taskmap similarity --pair a,b --permutations P`: a job like the bootstrap.
  app.post<{ Body: PermutationBody }>('/api/permutation', { schema: { body: permutationSchema } }, async (req, reply) => {
    const b = req.body;
    const fs = await resolveFeatureSet(ctx, b.featureSet);
    const measure = checkedMeasure(b.measure);
    const seed = b.seed ?? DEFAULT_SEED;
    const inputs = { featureSet: await fileKey(fs), measure, a: b.a, b: b.b, permutations: b.permutations, seed, precision: b.precision ?? 'float64' };
    return sendTask(ctx, reply, 'permutation', inputs, 'permutation', {
      fs,
      measure,
      a: b.a,
      b: b.b,
      permutations: b.permutations,
      seed,
      precision: b.precision,
    });
  });

  app.post<{ Body: TaxonomyBody }>('/api/taxonomy', { schema: { body: taxonomySchema } }, async (req, reply) => {
    const b = req.body;
    if (Boolean(b.featureSet) === Boolean(b.matrix)) throw badRequest('give exactly one of "featureSet" (with "measure") or "matrix"');
    if (b.featureSet && !b.measure) throw badRequest('"measure" is required with "featureSet"');
    if (b.matrix && b.measure) throw badRequest('"measure" applies only to "featureSet"; a matrix file carries its own');
    const method = b.linkage ?? 'average';
    const bootstrap = bootstrapArgs(b);
    if (bootstrap && !b.featureSet)
      throw badRequest('"bootstrap" recomputes the matrix on draws of images: give "featureSet" (with "measure"), not a "matrix"');
    if (b.featureSet) {
      const fs = await resolveFeatureSet(ctx, b.featureSet);
      const measure = checkedMeasure(b.measure!);
      const inputs = {
        featureSet: await fileKey(fs),
        measure,
        precision: b.precision ?? 'float64',
        linkage: method,
        clusters: b.clusters,
        ...(bootstrap ?? {}),
      };
      return sendTask(ctx, reply, 'taxonomy', inputs, 'taxonomyOfFeatures', {
        fs,
        measure,
        precision: b.precision,
        linkage: method,
        clusters: b.clusters,
        bootstrap,
      });
    }
    const mp = await ctx.sandbox.resolveExisting(b.matrix, 'matrix');
    const inputs = { matrix: await fileKey(mp), linkage: method, clusters: b.clusters };
    return sendTask(ctx, reply, 'taxonomy', inputs, 'taxonomyOfMatrix', { matrix: mp, linkage: method, clusters: b.clusters });
  });

  app.post<{ Body: RankBody }>('/api/rank', { schema: { body: rankSchema } }, async (req, reply) => {
    const b = req.body;
    if ((b.target === undefined) === (b.targetFile === undefined))
      throw badRequest('give exactly one of "target" (a member label) or "targetFile" (.npy features or a .csv / .txt of labels)');
    if (b.targetKind !== undefined && b.targetFile === undefined && b.labelsFile === undefined)
      throw badRequest('"targetKind" applies only to a labels "targetFile" or "labelsFile"');
    if (b.labelScore !== undefined && b.labelsFile === undefined) throw badRequest('"labelScore" scores the "labelsFile": give the new task\'s labels');
    const all = b.measure.trim() === ALL_MEASURES;
    const measure = all ? ALL_MEASURES : checkedRankMeasure(b.measure, 'measure');
    if (b.sortBy !== undefined && !all) throw badRequest('"sortBy" orders the score table (measure "all")');
    const sortBy = b.sortBy === undefined ? undefined : checkedRankMeasure(b.sortBy, 'sortBy');
    const scores = all || isScoreId(measure);
    if (b.probabilities !== undefined && !scores && b.labelsFile === undefined)
      throw badRequest('"probabilities" are for the label-based scores (leep, nce, or measure "all", or a labelScore beside a labelsFile)');
    const fs = await resolveFeatureSet(ctx, b.featureSet);
    const probabilities = b.probabilities === undefined ? undefined : await resolveFeatureSet(ctx, b.probabilities);
    if (b.aliases !== undefined && b.viaTransfers === undefined) throw badRequest('"aliases" renames tasks of the "viaTransfers" result dict');
    if (b.viaNeighbours !== undefined && b.viaTransfers === undefined) throw badRequest('"viaNeighbours" applies to "viaTransfers"');
    if (b.viaTransfers !== undefined) {
      const problem = viaTransfersMeasureProblem(measure);
      if (problem) throw badRequest(`"viaTransfers" ${problem}`);
      if (b.groupBy !== undefined) throw badRequest('"viaTransfers" finds the known tasks among the members themselves: not with "groupBy"');
    }
    const via = b.viaTransfers === undefined ? undefined : await ctx.sandbox.resolveExisting(b.viaTransfers, 'viaTransfers');
    let labelScore: string | undefined;
    if (b.labelsFile !== undefined) {
      const problem = labelsRankingProblem({ measure });
      if (problem) throw badRequest(`"labelsFile" ${problem}`);
      labelScore = checkedInput('labelScore', () => labelScoreId(b.labelScore ?? DEFAULT_LABEL_SCORE));
    }
    const labels = b.labelsFile === undefined ? undefined : await ctx.sandbox.resolveExisting(b.labelsFile, 'labelsFile');
    const labelsProblem = labels && labelsFileProblem(labels.ref, b.targetKind);
    if (labelsProblem) throw badRequest(`labelsFile: ${labelsProblem}`);
    const {
      featureSet: _f,
      measure: _m,
      target: _t,
      targetFile: _tf,
      targetKind,
      sortBy: _s,
      probabilities: _p,
      viaTransfers: _v,
      aliases,
      viaNeighbours,
      labelsFile: _lf,
      labelScore: _ls,
      ...options
    } = b;
    let target: TargetSpec;
    let targetKey: unknown;
    if (b.targetFile !== undefined) {
      const tp = await ctx.sandbox.resolveExisting(b.targetFile, 'targetFile');
      const file = targetFileKind(tp.ref);
      if (file === undefined) throw badRequest('targetFile: a target file must be .npy (features or regression values) or .csv / .txt (one label per image)');
      // A .npy is features, unless targetKind (without a labelsFile) reads it as labels: regression vectors.
      const asLabels = file === 'labels-file' || (targetKind !== undefined && !labels);
      const problem = asLabels ? labelsFileProblem(tp.ref, targetKind) : undefined;
      if (problem) throw badRequest(`targetFile: ${problem}`);
      if (labels && asLabels) throw badRequest(`"labelsFile" ${labelsRankingProblem({ measure, target: 'labels-file' })}`);
      target = asLabels
        ? { kind: 'labels-file', path: tp.abs, name: tp.ref, labelKind: targetKind }
        : { kind: 'representation-file', path: tp.abs, name: tp.ref };
      targetKey = { targetFile: await fileKey(tp), targetKind };
    } else {
      target = { kind: 'member', label: b.target! };
      targetKey = { target: b.target };
    }
    if (scores && target.kind !== 'labels-file') {
      throw badRequest(
        `measure ${all ? '"all" (the score table)' : `"${measure}"`}: the label-based scores need the new task's labels as "targetFile" ` +
          '(a .csv / .txt with one label per image, or a .npy of regression values with targetKind "regression"), not a member or features',
      );
    }
    // A member target keeps the inputs' old shape, so earlier jobs are still found.
    const extra = {
      ...(sortBy === undefined ? {} : { sortBy }),
      ...(probabilities ? { probabilities: await fileKey(probabilities) } : {}),
      ...(via ? { viaTransfers: await fileKey(via), aliases: aliases ?? {}, viaNeighbours: viaNeighbours ?? VIA_TRANSFERS_NEIGHBOURS } : {}),
      ...(labels ? { labelsFile: await fileKey(labels), labelsKind: targetKind ?? 'class', labelScore } : {}),
    };
    const inputs = { featureSet: await fileKey(fs), measure, ...(targetKey as object), ...options, ...extra };
    if (all) return sendTask(ctx, reply, 'rank', inputs, 'rankTable', { fs, target, probabilities, sortBy, options });
    return sendTask(ctx, reply, 'rank', inputs, 'rank', {
      fs,
      target,
      measure,
      probabilities,
      options,
      via,
      aliases,
      viaNeighbours: neighbourCount(viaNeighbours),
      labels: labels && { spec: { kind: 'labels-file', path: labels.abs, name: labels.ref, labelKind: targetKind }, score: labelScore! },
    });
  });

  app.post<{ Body: EvaluateBody }>('/api/evaluate', { schema: { body: evaluateSchema } }, async (req, reply) => {
    const b = req.body;
    if (Boolean(b.featureSet) === Boolean(b.predicted)) throw badRequest('give exactly one of "featureSet" (with "measures") or "predicted" (a matrix file)');
    if (b.featureSet && !b.measures) throw badRequest('"measures" is required with "featureSet"');
    if (b.predicted && b.measures) throw badRequest('"measures" applies only to "featureSet"');
    const truthPath = await ctx.sandbox.resolveExisting(b.truth, 'truth');
    const opts = { metric: b.metric, includeSelf: b.includeSelf, targets: b.targets, sources: b.sources, aliases: b.aliases };
    if (b.viaNeighbours !== undefined && !b.viaTransfers) throw badRequest('"viaNeighbours" applies to "viaTransfers"');
    if (b.viaTransfers && !b.predicted) throw badRequest('"viaTransfers" scores a "predicted" matrix');
    if (b.viaTransfers && (b.metric ?? 'spearman') !== 'spearman') throw badRequest('"viaTransfers" is scored by Spearman: leave "metric" at spearman');
    if (b.predicted) {
      const pp = await ctx.sandbox.resolveExisting(b.predicted, 'predicted');
      // A job without viaTransfers keeps the inputs' old shape, so earlier jobs are still found.
      const via = b.viaTransfers ? { viaNeighbours: b.viaNeighbours ?? VIA_TRANSFERS_NEIGHBOURS } : undefined;
      const inputs = { predicted: await fileKey(pp), truth: await fileKey(truthPath), ...opts, ...(via ? { viaTransfers: via } : {}) };
      return sendTask(ctx, reply, 'evaluate', inputs, 'evaluatePredicted', {
        predicted: pp,
        truth: truthPath,
        options: opts,
        viaNeighbours: via ? neighbourCount(via.viaNeighbours) : undefined,
      });
    }
    const fs = await resolveFeatureSet(ctx, b.featureSet);
    const measures = b.measures!.map((m, i) => checkedMeasure(m, `measures[${i}]`));
    const inputs = { featureSet: await fileKey(fs), measures, truth: await fileKey(truthPath), precision: b.precision ?? 'float64', ...opts };
    return sendTask(ctx, reply, 'evaluate', inputs, 'evaluateMeasures', { fs, truth: truthPath, measures, precision: b.precision, options: opts });
  });
}
