/**
 * The task bank over several seeds (`taskmap benchmark taskbank --seeds 0,1,2`): each seed draws its own crops, split
 * of the photographs, initialisations and batch orders, so the spread of a statistic over seeds is what one run's
 * number is worth. On the default pool one seed moved RSA's mean Spearman from 0.459 to 0.266 (docs/taskbank.md),
 * more than any interval over the test images of one run suggests; a comparison with the zoo has to be made on the
 * mean over seeds, with this spread beside it.
 *
 * This module only summarises evaluations that runTaskbankBenchmark produced; it trains nothing.
 */
import { meanOverTargets, type TaskbankEvaluation } from './taskbankEval.js';

/** One statistic over the seeds: the value of each seed (null where undefined), their mean and sample SD. */
export interface SeedStat {
  perSeed: (number | null)[];
  /** Mean over the seeds where the statistic is defined; null when it is defined for none. */
  mean: number | null;
  /** Sample standard deviation (n − 1) over the same seeds; null below two values. */
  sd: number | null;
  min: number | null;
  max: number | null;
}

export interface TaskbankSeedMeasure {
  measure: string;
  name: string;
  /** Mean per-target Spearman against the affinities, self excluded (the DDS protocol). */
  spearman: SeedStat;
  spearmanWithSelf: SeedStat;
  /** The permutation null's 95th percentile of each seed's mean Spearman (chance level). */
  null95: SeedStat;
  /** Mean Spearman over each seed's reliable targets (TaskbankEvaluation.reliability). */
  spearmanReliable: SeedStat;
  /** Mean Spearman of the prediction through the other targets' transfers (TaskbankMeasureResult.viaTransfers). */
  viaTransfers: SeedStat;
  /** Its permutation null's 95th percentile per seed (the weights on shuffled targets). */
  viaTransfersNull95: SeedStat;
  nearestNeighbourAgreement: SeedStat;
  adjustedRandIndex: SeedStat;
  /** Per target: its Spearman over the seeds. */
  perTarget: Record<string, SeedStat>;
}

export interface TaskbankSeedsSummary {
  seeds: number[];
  tasks: string[];
  /** The task families; the family cut has one cluster per family. */
  families: string[];
  measures: TaskbankSeedMeasure[];
  /** The measured task tree's family recovery per seed. */
  tree: { nearestNeighbourAgreement: SeedStat; adjustedRandIndex: SeedStat };
  /** The source-prior baseline's mean Spearman (and on the reliable targets), and per target, over the seeds. */
  sourcePrior: { spearman: SeedStat; spearmanReliable: SeedStat; perTarget: Record<string, SeedStat> };
  /** The label scores over the seeds, when every seed judged the same ones (TaskbankEvaluation.labelScores), in order. */
  labelScores?: {
    score: string;
    againstLabels: boolean;
    labelled: number;
    spearman: SeedStat;
    spearmanWithSelf: SeedStat;
    null95: SeedStat;
    spearmanReliable: SeedStat;
    perTarget: Record<string, SeedStat>;
    /** With each measure's similarity, ranks summed (TaskbankLabelScoreResult.withSimilarity). */
    withSimilarity: { measure: string; spearman: SeedStat }[];
    /** With each label score listed after it, ranks summed (TaskbankLabelScoreResult.withLabelScores). */
    withLabelScores: { score: string; againstLabels: boolean; spearman: SeedStat }[];
  }[];
  /**
   * Per target, the reliability of its measured ranking over the test photographs and (with repeated readouts) over the
   * readout seeds; `reliableTargets`, how many targets each seed counts reliable.
   */
  reliability: { perTarget: Record<string, SeedStat>; readouts: Record<string, SeedStat>; reliableTargets: SeedStat };
  chance: TaskbankEvaluation['chance'];
}

/** Mean, sample SD and range of the defined values (null and non-finite values are left out). */
export function seedStat(values: readonly (number | null | undefined)[]): SeedStat {
  const perSeed = values.map((v) => (v === null || v === undefined || !Number.isFinite(v) ? null : v));
  const ok = perSeed.filter((v): v is number => v !== null);
  if (ok.length === 0) return { perSeed, mean: null, sd: null, min: null, max: null };
  const mean = ok.reduce((a, v) => a + v, 0) / ok.length;
  const sd = ok.length < 2 ? null : Math.sqrt(ok.reduce((a, v) => a + (v - mean) ** 2, 0) / (ok.length - 1));
  return { perSeed, mean, sd, min: Math.min(...ok), max: Math.max(...ok) };
}

/**
 * Summarise the evaluations of several seeds. They must be of the same tasks and measures (the same command with
 * another seed); two seeds at least, each once.
 */
export function summariseTaskbankSeeds(runs: readonly { seed: number; evaluation: TaskbankEvaluation }[]): TaskbankSeedsSummary {
  if (runs.length < 2) throw new Error(`a summary over seeds needs at least two seeds, got ${runs.length}`);
  const seeds = runs.map((r) => r.seed);
  const twice = seeds.find((s, i) => seeds.indexOf(s) !== i);
  if (twice !== undefined) throw new Error(`seed ${twice} is listed twice`);
  const first = runs[0].evaluation;
  const tasks = first.tasks.map((t) => t.id);
  const measures = first.measures.map((m) => m.measure);
  for (const r of runs.slice(1)) {
    const t = r.evaluation.tasks.map((x) => x.id);
    if (t.join() !== tasks.join()) throw new Error(`seed ${r.seed} has tasks ${t.join(', ')}; seed ${seeds[0]} has ${tasks.join(', ')}`);
    const m = r.evaluation.measures.map((x) => x.measure);
    if (m.join() !== measures.join()) throw new Error(`seed ${r.seed} has measures ${m.join(', ')}; seed ${seeds[0]} has ${measures.join(', ')}`);
  }
  const over = <T>(pick: (e: TaskbankEvaluation) => T) => runs.map((r) => pick(r.evaluation));
  const judged = (l: TaskbankEvaluation['labelScores']) => (l?.length ? `${l.map((x) => x.score).join('; ')} on ${l[0].labelled} crops` : 'none');
  const label = first.labelScores?.length ? first.labelScores : undefined;
  for (const r of runs.slice(1))
    if (judged(r.evaluation.labelScores) !== judged(label))
      throw new Error(`seed ${r.seed} judged the label scores ${judged(r.evaluation.labelScores)}; seed ${seeds[0]} ${judged(label)}`);
  return {
    seeds,
    tasks,
    families: first.families,
    measures: first.measures.map((m0, k) => {
      const ms = over((e) => e.measures[k]);
      return {
        measure: m0.measure,
        name: m0.name,
        spearman: seedStat(ms.map((m) => m.spearman?.mean)),
        spearmanWithSelf: seedStat(ms.map((m) => m.spearmanWithSelf?.mean)),
        null95: seedStat(ms.map((m) => m.spearmanNull?.q95)),
        spearmanReliable: seedStat(ms.map((m) => m.spearmanReliable)),
        viaTransfers: seedStat(ms.map((m) => m.viaTransfers?.mean)),
        viaTransfersNull95: seedStat(ms.map((m) => m.viaTransfersNull?.q95)),
        nearestNeighbourAgreement: seedStat(ms.map((m) => m.taxonomy?.recovery.nearestNeighbourAgreement)),
        adjustedRandIndex: seedStat(ms.map((m) => m.taxonomy?.recovery.adjustedRandIndex)),
        perTarget: Object.fromEntries(tasks.map((t) => [t, seedStat(ms.map((m) => m.spearman?.perTarget[t]))])),
      };
    }),
    tree: {
      nearestNeighbourAgreement: seedStat(over((e) => e.tree.recovery.nearestNeighbourAgreement)),
      adjustedRandIndex: seedStat(over((e) => e.tree.recovery.adjustedRandIndex)),
    },
    sourcePrior: {
      spearman: seedStat(over((e) => e.sourcePrior.mean)),
      spearmanReliable: seedStat(over((e) => (e.reliability ? meanOverTargets(e.sourcePrior, e.reliability.reliable) : null))),
      perTarget: Object.fromEntries(tasks.map((t) => [t, seedStat(over((e) => e.sourcePrior.perTarget[t]))])),
    },
    ...(label
      ? {
          labelScores: label.map((l0, k) => {
            const labels = over((e) => e.labelScores![k]);
            return {
              score: l0.score,
              againstLabels: l0.againstLabels,
              labelled: l0.labelled,
              spearman: seedStat(labels.map((l) => l.spearman.mean)),
              spearmanWithSelf: seedStat(labels.map((l) => l.spearmanWithSelf.mean)),
              null95: seedStat(labels.map((l) => l.spearmanNull?.q95)),
              spearmanReliable: seedStat(labels.map((l) => l.spearmanReliable)),
              perTarget: Object.fromEntries(l0.targets.map((t) => [t, seedStat(labels.map((l) => l.spearman.perTarget[t]))])),
              withSimilarity: (l0.withSimilarity ?? []).map((c) => ({
                measure: c.measure,
                spearman: seedStat(labels.map((l) => l.withSimilarity?.find((x) => x.measure === c.measure)?.spearman.mean)),
              })),
              withLabelScores: (l0.withLabelScores ?? []).map((c) => ({
                score: c.score,
                againstLabels: c.againstLabels,
                spearman: seedStat(labels.map((l) => l.withLabelScores?.find((x) => x.score === c.score)?.spearman.mean)),
              })),
            };
          }),
        }
      : {}),
    reliability: {
      perTarget: Object.fromEntries(tasks.map((t) => [t, seedStat(over((e) => e.reliability?.perTarget[t]))])),
      readouts: Object.fromEntries(tasks.map((t) => [t, seedStat(over((e) => e.reliability?.readouts?.perTarget[t]))])),
      reliableTargets: seedStat(over((e) => e.reliability?.reliable.length)),
    },
    chance: first.chance,
  };
}
