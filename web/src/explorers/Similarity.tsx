/**
 * Similarity explorer: a feature set and one or two measures (parameters from the registry) → similarity
 * heatmap in dendrogram order, the dendrogram, a classical-MDS map coloured by task family (or by cluster), the
 * matrix as a table, per-target source rankings with bootstrap intervals (and, given a result dict of measured
 * transfers, through those transfers; given the new task's labels, by a score on them and both places summed), and the permutation test of a pair (observed value, p-value, null histogram).
 * All numbers come from the API.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, get, runJob } from '../api.js';
import { heatmapSpec, mdsSpec, permutationSpec, rankingSpec } from '../charts.js';
import { DataTable } from '../components/DataTable.js';
import { Dendrogram } from '../components/Dendrogram.js';
import { formFamilies, initialMeasure, MeasureForm, measureIdOf, stateOf, type MeasureState } from '../components/MeasureForm.js';
import { ProgressBar } from '../components/ProgressBar.js';
import { ScoreTable } from '../components/ScoreTable.js';
import { SvgFigure } from '../components/SvgFigure.js';
import { Upload } from '../components/Upload.js';
import { VegaFigure } from '../components/VegaFigure.js';
import type {
  Catalog,
  FeatureSetInfo,
  MeasuresResponse,
  PermutationPayload,
  Progress,
  RankPayload,
  RankTablePayload,
  ResultEntry,
  TaxonomyPayload,
  UploadResponse,
} from '../types.js';

/** The target select's value for "the labels file below" (member labels are never empty strings with a NUL). */
const LABELS_TARGET = '\u0000labels';
/** The ranking measure select: the measure forms above (''), the score table, or one score id. */
const ALL_SCORES = 'all';

interface Run<T> {
  busy: boolean;
  progress: Progress | null;
  result: T | null;
  error: string | null;
  /** The server's job id while it runs (for the Cancel button). */
  job?: string | null;
}
const idle = <T,>(): Run<T> => ({ busy: false, progress: null, result: null, error: null, job: null });

/** Similarity matrices that `taskmap demo` wrote (`…/taskmap-demo/similarity-*.json`), RSA first: the first is shown on landing. */
export function demoMatrices(matrices: { path: string }[]): string[] {
  const paths = matrices.map((m) => m.path).filter((p) => /(^|\/)taskmap-demo\/similarity-[^/]+\.json$/.test(p));
  // RSA first: the demo's first measure.
  return [...paths.filter((p) => p.endsWith('/similarity-rsa.json')), ...paths.filter((p) => !p.endsWith('/similarity-rsa.json'))];
}

/** Feature sets in the order the page tries them on landing: the demo's features first. */
function landingOrder(sets: { path: string }[]): string[] {
  const paths = sets.map((s) => s.path);
  const demo = paths.filter((p) => /(^|\/)taskmap-demo\/features$/.test(p));
  return [...demo, ...paths.filter((p) => !demo.includes(p))];
}

function errorText(e: unknown): string {
  return e instanceof ApiError ? e.message : String((e as Error)?.message ?? e);
}

/** The CLI's `--alias old=new`, as `old=new, old2=new2` (commas or new lines): the renames, or the first bad entry. */
function parseAliases(text: string): { aliases: Record<string, string>; error: string | null } {
  const aliases: Record<string, string> = {};
  for (const raw of text.split(/[,\n]/)) {
    const item = raw.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    const from = eq > 0 ? item.slice(0, eq).trim() : '';
    const to = eq > 0 ? item.slice(eq + 1).trim() : '';
    if (!from || !to) return { aliases: {}, error: `aliases: expected old=new (e.g. task_a=model_a, task_b=model_b), got "${item}"` };
    aliases[from] = to;
  }
  return { aliases, error: null };
}

/** The neighbours field: empty is the server's default (3), "all" every known task, else a whole number ≥ 1. */
function parseNeighbours(text: string): { value: number | 'all' | undefined; error: string | null } {
  const t = text.trim();
  if (!t) return { value: undefined, error: null };
  if (t.toLowerCase() === 'all') return { value: 'all', error: null };
  const k = Number(t);
  return Number.isInteger(k) && k >= 1 && k <= 100_000
    ? { value: k, error: null }
    : { value: undefined, error: `neighbours: a whole number from 1 to 100000 or "all" (empty: 3), got "${t}"` };
}

/** The result dicts a ranking can go through: those named as affinities first (Taskonomy's naming), then the rest. */
function transferDicts(results: ResultEntry[]): ResultEntry[] {
  const dicts = results.filter((r) => r.kind === 'resultDict');
  return [...dicts.filter((r) => r.role === 'affinities'), ...dicts.filter((r) => r.role !== 'affinities')];
}

function TaxonomyPanel(props: { t: TaxonomyPayload; slot: string; note?: ComponentChildren }) {
  const { t } = props;
  const [zoom, setZoom] = useState(1);
  const [search, setSearch] = useState('');
  // The model the search names: an exact label, else the first label containing the text (case-insensitive).
  const highlight = useMemo(() => {
    const q = search.trim().toLowerCase();
    if (!q) return null;
    return t.leafOrder.find((l) => l.toLowerCase() === q) ?? t.leafOrder.find((l) => l.toLowerCase().includes(q)) ?? null;
  }, [search, t]);
  const id = t.measure?.id ?? 'matrix';
  const groups = t.families ?? Object.fromEntries(Object.entries(t.clusters).map(([k, v]) => [k, `cluster ${v + 1}`]));
  const groupTitle = t.families ? 'task family' : `cluster (k = ${t.k})`;
  // Both heatmaps (the matrix, and with a bootstrap its interval width) share the tree order and the view controls.
  const view = { rowOrder: t.leafOrder, colOrder: t.leafOrder, rowTitle: 'model', colTitle: 'model', legendBelow: true, zoom, highlight };
  const heat = useMemo(() => heatmapSpec(t.similarity, { ...view, valueTitle: t.measure ? 'similarity' : 'value' }), [t, zoom, highlight]);
  const mds = useMemo(() => mdsSpec(t.mds.coords, groups, groupTitle, t.mds.explained), [t]);
  const iv = t.intervals;
  const width = useMemo(
    () =>
      iv &&
      heatmapSpec(
        {
          ...iv.upper,
          matrix: iv.upper.matrix.map((row, r) => row.map((u, c) => (u === null || iv.lower.matrix[r][c] === null ? null : u - iv.lower.matrix[r][c]!))),
        },
        { ...view, valueTitle: 'interval width' },
      ),
    [t, zoom, highlight],
  );
  return (
    <div class="panel" data-panel={props.slot} data-measure={id}>
      <h2>
        <code>{id}</code> {t.measure && <small>{t.measure.name}</small>}
      </h2>
      {props.note}
      <div class="note">
        {t.similarity.rows.length} models{t.images ? ` on ${t.images} images` : ''} · {t.linkage} linkage on {t.distance}
        <details>
          <summary>leaf order</summary>
          <span data-leaf-order>{t.leafOrder.join(' ')}</span>
        </details>
      </div>
      <div class="heatmap-tools row">
        <label class="inline" title="Highlight a model's row and column (and always show its label)">
          <span>find model</span>
          <input
            type="search"
            data-control={`heatmap-search-${props.slot}`}
            list={`heatmap-models-${props.slot}`}
            placeholder="model name"
            value={search}
            onInput={(e) => setSearch(e.currentTarget.value)}
          />
        </label>
        <datalist id={`heatmap-models-${props.slot}`}>
          {t.leafOrder.map((l) => (
            <option key={l} value={l} />
          ))}
        </datalist>
        <label class="inline" title="Cell size: larger cells show every label">
          <span>zoom</span>
          <select data-control={`heatmap-zoom-${props.slot}`} value={String(zoom)} onChange={(e) => setZoom(Number(e.currentTarget.value))}>
            {[1, 1.5, 2, 3].map((z) => (
              <option key={z} value={String(z)}>
                {z === 1 ? 'fit' : `${z}×`}
              </option>
            ))}
          </select>
        </label>
        {search.trim() && (
          <span class="note" data-highlight={highlight ?? ''}>
            {highlight ? `highlighted: ${highlight}` : 'no model matches'}
          </span>
        )}
      </div>
      <VegaFigure title={`Similarity (${id}), dendrogram order`} id={`heatmap-${props.slot}`} spec={heat} canvas={t.similarity.rows.length > 80} />
      <SvgFigure
        title="Dendrogram"
        id={`dendrogram-${props.slot}`}
        note={
          <details>
            <summary>Newick</summary>
            <code class="wrap" data-newick>
              {t.newick}
            </code>
          </details>
        }
      >
        {(ref) => <Dendrogram tree={t.tree} leafOrder={t.leafOrder} groups={groups} svgRef={ref} distanceLabel={t.distance} />}
      </SvgFigure>
      {iv && width && (
        <>
          <p class="note" data-support>
            Numbers on the tree: split support, the share of {iv.resampling.draws} bootstrap draws ({iv.resampling.size} images each
            {iv.resampling.replacement ? ', with replacement' : ''}, seed {iv.resampling.seed}) whose tree contains exactly that cluster.
          </p>
          <VegaFigure
            title={`${Math.round(100 * iv.level)} % interval width per cell (upper − lower over the draws)`}
            id={`interval-${props.slot}`}
            spec={width}
            canvas={t.similarity.rows.length > 80}
          />
          <details>
            <summary>Cell intervals table</summary>
            <DataTable
              title={`${Math.round(100 * iv.level)} % intervals (${id})`}
              id={`intervals-${props.slot}`}
              columns={['row', 'column', 'value', 'mean', 'sd', 'lower', 'upper']}
              rows={t.similarity.rows.flatMap((r, i) =>
                t.similarity.cols
                  .map((c, j) => [r, c, t.similarity.matrix[i][j], iv.mean.matrix[i][j], iv.sd.matrix[i][j], iv.lower.matrix[i][j], iv.upper.matrix[i][j]])
                  .filter((_, j) => j > i),
              )}
              json={iv}
            />
          </details>
        </>
      )}
      <VegaFigure
        title={`MDS map, coloured by ${groupTitle}`}
        id={`mds-${props.slot}`}
        spec={mds}
        note={
          t.mds.negativeEigenvalues > 0
            ? `${t.mds.negativeEigenvalues} negative eigenvalues: the distances are not exactly Euclidean, so the map is an approximation.`
            : undefined
        }
      />
      <details>
        <summary>Similarity matrix table</summary>
        <DataTable
          title={`Similarity matrix (${id})`}
          id={`matrix-${props.slot}`}
          columns={['', ...t.similarity.cols]}
          rows={t.similarity.rows.map((r, i) => [r, ...t.similarity.matrix[i]])}
          json={t.similarity}
        />
      </details>
    </div>
  );
}

/** A labels file (.csv / .txt) among those listed or uploaded, with its upload button. */
function LabelsFilePicker(props: {
  title: string;
  name: string;
  control: string;
  none: string;
  value: string;
  files: string[];
  onChange: (path: string) => void;
  onUploaded: (r: UploadResponse) => void;
}) {
  return (
    <>
      <label title={props.title}>
        <span>{props.name}</span>
        <select data-control={props.control} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
          <option value="">{props.none}</option>
          {props.files.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </label>
      <Upload label="Upload labels (.csv, .txt)" accept=".csv,.txt" name="labels" kind="labels" onUploaded={props.onUploaded} />
    </>
  );
}

function RankingPanel(props: { r: RankPayload; slot: string }) {
  const { r } = props;
  const spec = useMemo(() => rankingSpec(r.ranking, r.measure), [r]);
  const boot = r.bootstrap;
  const via = r.viaTransfers;
  const both = r.withLabels;
  return (
    <div class="panel" data-ranking={props.slot}>
      <VegaFigure
        title={`Sources for ${r.target.label} (${r.measure})`}
        id={`ranking-${props.slot}`}
        spec={spec}
        note={
          boot
            ? `Points: score on all ${r.n_images} images; bars: 95 % interval over ${boot.draws} draws of ${boot.subset} images (seed ${boot.seed}).`
            : `Scores on all ${r.n_images} images (no bootstrap).`
        }
      />
      <DataTable
        title="Source ranking"
        id={`ranking-table-${props.slot}`}
        columns={['rank', 'source', 'family', 'score', 'mean', 'CI 2.5 %', 'CI 97.5 %', 'P(best)']}
        rows={r.ranking.map((e) => [e.rank, e.label, r.families?.[e.label] ?? null, e.score, e.mean, e.ci95?.[0] ?? null, e.ci95?.[1] ?? null, e.pBest])}
        json={r}
      />
      {via && (
        <div data-via-transfers={props.slot}>
          <DataTable
            title="Through the measured transfers"
            id={`via-ranking-${props.slot}`}
            columns={['rank', 'source', 'score (weighted mean rank, 0 … 1)']}
            rows={via.ranking.map((e) => [e.rank, e.source, e.score])}
            json={via}
          />
          <p class="note" data-via-note>
            Score: each source's place in the measured rankings ({via.affinities}) of the{' '}
            {via.neighbours === null ? 'known tasks' : `${via.neighbours} known tasks most similar to the target`}, weighted by similarity ({r.measure}; 1 =
            first everywhere, 0 = last); the target's own column is never read.
          </p>
          {via.unranked.length > 0 && (
            <p class="note" data-via-unranked>
              Not ranked (no known task of positive weight ranks them): {via.unranked.join(', ')}
            </p>
          )}
          <DataTable
            title="Known tasks and their weights"
            id={`via-weights-${props.slot}`}
            columns={['task', 'member', 'similarity', 'used']}
            rows={via.weights.map((w) => [w.task, w.member, w.similarity, w.used ? 'yes' : 'no'])}
            json={via.weights}
          />
        </div>
      )}
      {both && (
        <div data-with-labels={props.slot}>
          <DataTable
            title="With the new task's labels"
            id={`with-labels-${props.slot}`}
            columns={['rank', 'source', 'family', 'places summed', both.measure, 'place', both.score, 'place']}
            rows={both.ranking.map((e) => [e.rank, e.label, r.families?.[e.label] ?? null, e.rankSum, e.similarity, e.similarityPlace, e.score, e.scorePlace])}
            json={both}
          />
          <p class="note" data-with-labels-note>
            Each source placed by {both.measure} to the target and by {both.score} on {both.labels} ({both.labelKind}), on all {r.n_images} images (1 = best;
            ties share the mean place), and ranked by the sum of its two places.
          </p>
        </div>
      )}
    </div>
  );
}

/** The permutation test's answer: observed value, p, and the null distribution as a histogram. */
function PermutationPanel(props: { t: PermutationPayload }) {
  const { t } = props;
  const spec = useMemo(() => permutationSpec(t.null, t.observed, t.measure.id), [t]);
  const side = t.largerIsMoreSimilar ? '≥' : '≤';
  return (
    <div class="panel" data-permutation>
      <p data-permutation-summary>
        {t.measure.id}({t.a}, {t.b}) = <strong data-observed>{t.observed.toFixed(4)}</strong>; p = <strong data-p-value>{t.pValue.toPrecision(3)}</strong> (
        {t.extreme} of {t.permutations} shuffles {side} observed, seed {t.seed})
      </p>
      <VegaFigure
        title={`Null distribution: ${t.measure.id} under ${t.permutations} shuffles of ${t.b}'s images`}
        id="permutation-null"
        spec={spec}
        note={`Bars: the value with ${t.b}'s images shuffled; red: the observed value. p = (shuffles ${side} observed + 1) / (P + 1); the smallest possible p is 1/${t.permutations + 1}.`}
      />
    </div>
  );
}

export function SimilarityExplorer(props: { measures: MeasuresResponse; catalog: Catalog; refresh: () => Promise<Catalog> }) {
  // The measures a feature set can feed: the catalogue's representation families (task measures need labelled-task
  // folders), their registered settings as presets; linkages and precisions as the server lists them.
  const families = useMemo(() => formFamilies(props.measures.catalogue, ['representations']), [props.measures]);
  const standard = useMemo(() => props.measures.measures.filter((m) => families.some((f) => f.id === m.family)), [props.measures, families]);
  const { linkages, precisions } = props.measures;
  const sets = props.catalog.featureSets;
  // Stored similarity matrices (e.g. the ones `taskmap demo` writes) can be explored too, without features.
  const matrices = props.catalog.results.filter((r) => r.kind === 'matrix');
  const order = useMemo(() => landingOrder(sets), [sets]);
  const [featureSet, setFeatureSet] = useState<string>(order[0] ?? '');
  // Until the user picks one, the page tries the feature sets in landingOrder and skips those that do not load.
  const [autoPick, setAutoPick] = useState(true);
  const [unreadable, setUnreadable] = useState<Record<string, string>>({});
  const [landing, setLanding] = useState<string | null>(null);
  const [matrix, setMatrix] = useState<string>('');
  const [info, setInfo] = useState<FeatureSetInfo | null>(null);
  const [infoError, setInfoError] = useState<string | null>(null);
  const [measureA, setMeasureA] = useState<MeasureState>(() => initialMeasure(families));
  const [measureB, setMeasureB] = useState<MeasureState>(() => {
    // The DDS paper's best setting when it is registered, else the next family.
    const dds = standard.find((m) => m.id === 'dds:norm=znorm,kernel=cosine');
    return dds ? stateOf(families, dds) : initialMeasure(families, families[1]?.id);
  });
  const [compare, setCompare] = useState(false);
  const [linkage, setLinkage] = useState(() => (linkages.includes('average') ? 'average' : linkages[0]));
  const [precision, setPrecision] = useState<string>(() => precisions[0]);
  const [clusters, setClusters] = useState('');
  // Bootstrap of the matrix itself (split support, cell intervals); the ranking's draws are set below it.
  const [supportDraws, setSupportDraws] = useState('');
  const [runs, setRuns] = useState<Run<TaxonomyPayload>[]>([idle(), idle()]);
  const [target, setTarget] = useState('');
  const [bootstrap, setBootstrap] = useState('50');
  const [subset, setSubset] = useState('');
  const [seed, setSeed] = useState('1993');
  const [ranks, setRanks] = useState<Run<RankPayload>[]>([idle(), idle()]);
  // Ranking against labels: a labels file (listed CSV/TXT files and uploads), its kind, a score or the score table.
  const [labelsFile, setLabelsFile] = useState('');
  const [uploadedLabels, setUploadedLabels] = useState<string[]>([]);
  const [targetKind, setTargetKind] = useState<'class' | 'regression'>('class');
  const [rankBy, setRankBy] = useState('');
  const [probabilities, setProbabilities] = useState('');
  const [sortBy, setSortBy] = useState('');
  const [table, setTable] = useState<Run<RankTablePayload>>(idle());
  // A representation measure's ranking of a member target can also go through measured transfers (a result dict).
  const [viaDict, setViaDict] = useState('');
  const [viaAliases, setViaAliases] = useState('');
  const [viaNeighbours, setViaNeighbours] = useState('');
  // …and take the new task's labels beside it: a score on them, and both places summed (taskmap rank --labels).
  const [withLabels, setWithLabels] = useState('');
  const [labelScore, setLabelScore] = useState('logme');
  // Permutation test of one pair under measure A: b's images are shuffled.
  const [pairA, setPairA] = useState('');
  const [pairB, setPairB] = useState('');
  const [shuffles, setShuffles] = useState('999');
  const [pairSeed, setPairSeed] = useState('1993');
  const [perm, setPerm] = useState<Run<PermutationPayload>>(idle());
  const labelsMode = target === LABELS_TARGET;
  const dictChoices = useMemo(() => transferDicts(props.catalog.results), [props.catalog]);
  const aliasParse = useMemo(() => parseAliases(viaAliases), [viaAliases]);
  const neighboursParse = useMemo(() => parseNeighbours(viaNeighbours), [viaNeighbours]);
  const labelsFiles = useMemo(
    () => [...new Set([...uploadedLabels, ...props.catalog.results.map((r) => r.path).filter((p) => /\.(csv|txt)$/i.test(p))])],
    [uploadedLabels, props.catalog],
  );
  // Scores that rate the chosen target kind (LogME alone for regression), as the server lists them.
  const scoreIds = useMemo(
    () =>
      props.measures.standardScores.filter((id) => {
        const family = props.measures.scores.find((f) => f.family === id.split(':')[0]);
        return family !== undefined && family.taskTypes.includes(targetKind === 'class' ? 'classification' : 'regression');
      }),
    [props.measures, targetKind],
  );

  useEffect(() => {
    if (!featureSet && autoPick) {
      const next = order.find((p) => !(p in unreadable));
      if (next) setFeatureSet(next);
    }
  }, [order]);
  useEffect(() => {
    setInfo(null);
    setInfoError(null);
    if (!featureSet || matrix) return;
    let current = true;
    get<FeatureSetInfo>('featureset', { path: featureSet }).then(
      (i) => {
        if (!current) return;
        setInfo(i);
        setTarget((t) => (t === LABELS_TARGET || i.members.some((m) => m.label === t) ? t : (i.members[0]?.label ?? '')));
        const known = (l: string) => i.members.some((m) => m.label === l);
        setPairA((a) => (known(a) ? a : (i.members[0]?.label ?? '')));
        setPairB((b) => (known(b) ? b : (i.members[1]?.label ?? i.members[0]?.label ?? '')));
      },
      (e) => {
        if (!current) return;
        if (!autoPick) return setInfoError(errorText(e));
        // Not the user's choice: move on to the next set that may load, rather than open on an error.
        const failed = { ...unreadable, [featureSet]: errorText(e) };
        setUnreadable(failed);
        const next = order.find((p) => !(p in failed));
        if (next) setFeatureSet(next);
        else {
          setFeatureSet('');
          setInfoError(`None of the ${order.length} feature sets under the data roots could be read (${featureSet}: ${errorText(e)})`);
        }
      },
    );
    return () => {
      current = false;
    };
  }, [featureSet, matrix]);

  // Landing: with the demo's stored similarity matrices at hand, show the first one at once (tree, heatmap, MDS).
  useEffect(() => {
    const first = demoMatrices(matrices)[0];
    if (!first) return;
    setLanding(first);
    update(setRuns, 0, { busy: true, error: null, progress: null });
    runJob<TaxonomyPayload>('taxonomy', { matrix: first, linkage }, (p, job) => update(setRuns, 0, { progress: p, job: job.id })).then(
      (result) => setRuns((rs) => rs.map((r, i) => (i === 0 && r.busy ? { ...r, busy: false, result, job: null } : r))),
      (e) => setRuns((rs) => rs.map((r, i) => (i === 0 && r.busy ? { ...r, busy: false, error: errorText(e), result: null, job: null } : r))),
    );
  }, []);

  const active = compare && !matrix ? [measureA, measureB] : [measureA];
  const ids = active.map((m) => measureIdOf(families, m));

  const update = <T,>(setter: (f: (r: Run<T>[]) => Run<T>[]) => void, k: number, patch: Partial<Run<T>>) =>
    setter((rs) => rs.map((r, i) => (i === k ? { ...r, ...patch } : r)));

  const compute = () => {
    setLanding(null);
    if (matrix) {
      update(setRuns, 0, { busy: true, error: null, progress: null });
      const body: Record<string, unknown> = { matrix, linkage };
      if (clusters.trim()) body.clusters = Number(clusters);
      runJob<TaxonomyPayload>('taxonomy', body, (p, job) => update(setRuns, 0, { progress: p, job: job.id })).then(
        (result) => update(setRuns, 0, { busy: false, result, job: null }),
        (e) => update(setRuns, 0, { busy: false, error: errorText(e), result: null, job: null }),
      );
      update(setRuns, 1, { result: null, error: null });
      return;
    }
    ids.forEach((measure, k) => {
      update(setRuns, k, { busy: true, error: null, progress: null });
      const body: Record<string, unknown> = { featureSet, measure, linkage, precision };
      if (clusters.trim()) body.clusters = Number(clusters);
      if (Number(supportDraws || '0') > 0) body.bootstrap = Number(supportDraws);
      runJob<TaxonomyPayload>('taxonomy', body, (p, job) => update(setRuns, k, { progress: p, job: job.id })).then(
        (result) => update(setRuns, k, { busy: false, result, job: null }),
        (e) => update(setRuns, k, { busy: false, error: errorText(e), result: null, job: null }),
      );
    });
    if (!compare) update(setRuns, 1, { result: null, error: null });
  };

  const rank = () => {
    const base: Record<string, unknown> = { featureSet, precision };
    if (labelsMode) {
      base.targetFile = labelsFile;
      base.targetKind = targetKind;
    } else base.target = target;
    const draws = Number(bootstrap || '0');
    if (draws > 0) {
      base.bootstrap = draws;
      base.seed = Number(seed || '1993');
      if (subset.trim()) base.subset = Number(subset);
    }
    if (rankBy === ALL_SCORES) {
      const body = { ...base, measure: ALL_SCORES, ...(sortBy ? { sortBy } : {}), ...(probabilities ? { probabilities } : {}) };
      setTable({ ...idle(), busy: true });
      setRanks([idle(), idle()]);
      runJob<RankTablePayload>('rank', body, (p, job) => setTable((r) => ({ ...r, progress: p, job: job.id }))).then(
        (result) => setTable({ ...idle(), result }),
        (e) => setTable({ ...idle(), error: errorText(e) }),
      );
      return;
    }
    setTable(idle());
    // One score (slot a), or the measure forms above (one or two slots), each also through the transfers if asked.
    const measures = rankBy ? [rankBy] : ids;
    if (viaOn && viaError) return;
    const via = viaOn
      ? {
          viaTransfers: viaDict,
          ...(Object.keys(aliasParse.aliases).length ? { aliases: aliasParse.aliases } : {}),
          ...(neighboursParse.value === undefined ? {} : { viaNeighbours: neighboursParse.value }),
        }
      : {};
    const labels = labelsOn ? { labelsFile: withLabels, targetKind, labelScore } : {};
    measures.forEach((measure, k) => {
      update(setRanks, k, { busy: true, error: null, progress: null });
      const body = { ...base, measure, ...(rankBy && probabilities ? { probabilities } : {}), ...via, ...labels };
      runJob<RankPayload>('rank', body, (p, job) => update(setRanks, k, { progress: p, job: job.id })).then(
        (result) => update(setRanks, k, { busy: false, result, job: null }),
        (e) => update(setRanks, k, { busy: false, error: errorText(e), result: null, job: null }),
      );
    });
    if (measures.length < 2) update(setRanks, 1, { result: null, error: null });
  };
  const testPair = () => {
    const body = { featureSet, measure: ids[0], a: pairA, b: pairB, permutations: Number(shuffles), seed: Number(pairSeed || '1993'), precision };
    setPerm({ ...idle(), busy: true });
    runJob<PermutationPayload>('permutation', body, (p, job) => setPerm((r) => ({ ...r, progress: p, job: job.id }))).then(
      (result) => setPerm({ ...idle(), result }),
      (e) => setPerm({ ...idle(), error: errorText(e) }),
    );
  };
  const rankSlots = rankBy ? [ids[0]] : ids;
  const scoring = rankBy !== '';
  // Through measured transfers: a representation measure (the forms above) ranking a member target.
  const viaOffered = !labelsMode && !scoring && !matrix;
  const viaOn = viaOffered && viaDict !== '';
  const viaError = viaOn ? (aliasParse.error ?? neighboursParse.error) : null;
  // The new task's labels beside a member target: the same offer (a representation measure ranking a member).
  const labelsOn = viaOffered && withLabels !== '';
  // Scores of the sources' own features (LEEP and NCE read class probabilities, which this offer does not take).
  const featureScores = scoreIds.filter((id) => props.measures.scores.some((f) => f.family === id.split(':')[0] && f.input === 'labels'));
  const onLabelsUploaded = (set: (path: string) => void) => async (r: UploadResponse) => {
    const saved = r.saved.find((x) => x.kind === 'labels');
    if (saved) {
      setUploadedLabels((u) => [saved.path, ...u.filter((x) => x !== saved.path)]);
      set(saved.path);
    }
    await props.refresh();
  };
  // A score id that rates labels of this kind (LogME alone rates regression values).
  const ratesKind = (id: string, kind: 'class' | 'regression') =>
    props.measures.scores.some((f) => f.family === id.split(':')[0] && f.taskTypes.includes(kind === 'class' ? 'classification' : 'regression'));
  const kindSelect = (control: string) => (
    <label>
      <span>labels are</span>
      <select
        data-control={control}
        value={targetKind}
        onChange={(e) => {
          const kind = e.currentTarget.value as 'class' | 'regression';
          setTargetKind(kind);
          setRankBy((m) => (m && m !== ALL_SCORES && !ratesKind(m, kind) ? '' : m));
          setLabelScore((m) => (ratesKind(m, kind) ? m : 'logme'));
        }}
      >
        <option value="class">classes</option>
        <option value="regression">regression values</option>
      </select>
    </label>
  );

  return (
    <div class="explorer" id="similarity-explorer">
      <aside class="controls">
        <h2>Feature set</h2>
        {sets.length === 0 && matrices.length === 0 ? (
          <p class="note" data-empty-sets>
            No feature sets under the data roots yet. Run <code>taskmap demo</code> in the folder you serve, start the server with <code>--data-root DIR</code>,
            or upload features below.
          </p>
        ) : (
          <select
            data-control="featureSet"
            value={featureSet}
            disabled={Boolean(matrix)}
            onChange={(e) => {
              setAutoPick(false);
              setFeatureSet(e.currentTarget.value);
            }}
          >
            {!featureSet && <option value="">(none readable)</option>}
            {sets.map((s) => (
              <option key={s.path} value={s.path}>
                {s.path}
              </option>
            ))}
          </select>
        )}
        {info && (
          <p class="note" data-featureset-info>
            {info.members.length} models · {info.images} images{info.families ? ` · ${new Set(Object.values(info.families)).size} task families` : ''}
          </p>
        )}
        {infoError && (
          <p class="error" data-featureset-error>
            {infoError}
          </p>
        )}
        {matrices.length > 0 && (
          <label title="A stored similarity matrix (e.g. similarity-*.json from taskmap demo): tree, heatmap and MDS without recomputing">
            <span>or a stored similarity matrix</span>
            <select data-control="matrix" value={matrix} onChange={(e) => setMatrix(e.currentTarget.value)}>
              <option value="">(compute from the feature set)</option>
              {matrices.map((m) => (
                <option key={m.path} value={m.path}>
                  {m.path}
                </option>
              ))}
            </select>
          </label>
        )}
        <Upload
          label="Upload features (.npz, .safetensors, or several .npy)"
          accept=".npy,.npz,.safetensors"
          multiple
          name="features"
          onUploaded={async (r) => {
            await props.refresh();
            const set = r.saved.find((s) => s.kind === 'featureSet');
            if (set) {
              setAutoPick(false);
              setFeatureSet(set.path);
            }
          }}
        />
        {!matrix && (
          <>
            <MeasureForm name="measure A" families={families} standard={standard} value={measureA} onChange={setMeasureA} />
            <label class="inline">
              <input type="checkbox" data-control="compare" checked={compare} onChange={(e) => setCompare(e.currentTarget.checked)} /> compare with a second
              measure
            </label>
            {compare && <MeasureForm name="measure B" families={families} standard={standard} value={measureB} onChange={setMeasureB} />}
          </>
        )}
        <label>
          <span>linkage</span>
          <select data-control="linkage" value={linkage} onChange={(e) => setLinkage(e.currentTarget.value)}>
            {linkages.map((l) => (
              <option key={l}>{l}</option>
            ))}
          </select>
        </label>
        {!matrix && (
          <label title="GEMM precision of the n×n image matrices">
            <span>precision</span>
            <select data-control="precision" value={precision} onChange={(e) => setPrecision(e.currentTarget.value)}>
              {precisions.map((p) => (
                <option key={p}>{p}</option>
              ))}
            </select>
          </label>
        )}
        <label>
          <span>clusters</span>
          <input
            type="number"
            min={1}
            placeholder="auto (families)"
            data-control="clusters"
            value={clusters}
            onInput={(e) => setClusters(e.currentTarget.value)}
          />
        </label>
        {!matrix && (
          <label title="Recompute the matrix on this many random halves of the images (at most 200 images each, seed 1993): split support on the tree, 95 % intervals per cell. Empty: none.">
            <span>bootstrap draws (split support)</span>
            <input
              type="number"
              min={0}
              max={2000}
              placeholder="none"
              data-control="support-draws"
              value={supportDraws}
              onInput={(e) => setSupportDraws(e.currentTarget.value)}
            />
          </label>
        )}
        <button type="button" class="primary" data-action="compute" disabled={(!featureSet && !matrix) || runs.some((r) => r.busy)} onClick={compute}>
          Compute similarity
        </button>
      </aside>
      <main class="results">
        <div class={compare ? 'panels two' : 'panels'}>
          {active.map((_, k) => {
            const r = runs[k];
            return (
              <div key={k} class="slot">
                {r.busy && <ProgressBar progress={r.progress} label={landing && k === 0 ? `loading ${landing}` : `computing ${ids[k]}`} jobId={r.job} />}
                {r.error && (
                  <p class="error" data-error>
                    {r.error}
                  </p>
                )}
                {r.result && (
                  <TaxonomyPanel
                    t={r.result}
                    slot={k === 0 ? 'a' : 'b'}
                    note={
                      landing && k === 0 ? (
                        <p class="note" data-landing={landing}>
                          The stored result of <code>taskmap demo</code>: <code>{landing}</code>. Pick a feature set and a measure, then “Compute similarity” to
                          recompute.
                        </p>
                      ) : undefined
                    }
                  />
                )}
              </div>
            );
          })}
        </div>
        {runs.every((r) => !r.result && !r.busy && !r.error) && <p class="placeholder">Pick a feature set and a measure, then “Compute similarity”.</p>}
        <section class="ranking-controls">
          <h2>Source ranking for a target</h2>
          <div class="row">
            <label title="A member of the feature set, or the new task's labels (one per probe image, in the feature set's order)">
              <span>target</span>
              <select
                data-control="target"
                value={target}
                onChange={(e) => {
                  const t = e.currentTarget.value;
                  setTarget(t);
                  // Scores rank against labels only.
                  if (t !== LABELS_TARGET) setRankBy('');
                }}
              >
                {(info?.members ?? []).map((m) => (
                  <option key={m.label}>{m.label}</option>
                ))}
                <option value={LABELS_TARGET}>labels file…</option>
              </select>
            </label>
            {labelsMode && (
              <>
                <LabelsFilePicker
                  title="A .csv / .txt with one label per image (or image,label rows; a header row is allowed)"
                  name="labels file"
                  control="labels-file"
                  none="(pick or upload)"
                  value={labelsFile}
                  files={labelsFiles}
                  onChange={setLabelsFile}
                  onUploaded={onLabelsUploaded(setLabelsFile)}
                />
                {kindSelect('target-kind')}
              </>
            )}
            <label title="The measure forms above compare representations; with a labels target, the transferability scores rate each source against the labels">
              <span>rank by</span>
              <select data-control="rank-measure" value={rankBy} onChange={(e) => setRankBy(e.currentTarget.value)}>
                <option value="">{compare ? 'measures A and B above' : 'the measure above'}</option>
                <option value={ALL_SCORES} disabled={!labelsMode}>
                  all scores (table)
                </option>
                <optgroup label={labelsMode ? 'transferability scores' : 'transferability scores (need a labels target)'}>
                  {scoreIds.map((id) => (
                    <option key={id} value={id} disabled={!labelsMode}>
                      {id}
                    </option>
                  ))}
                </optgroup>
              </select>
            </label>
            {scoring && (
              <label title="LEEP and NCE score the source models' softmax outputs: a feature set with one member per model, named like the sources or their model">
                <span>class probabilities</span>
                <select data-control="probabilities" value={probabilities} onChange={(e) => setProbabilities(e.currentTarget.value)}>
                  <option value="">(none: LEEP and NCE left blank)</option>
                  {sets
                    .filter((s) => s.path !== featureSet)
                    .map((s) => (
                      <option key={s.path} value={s.path}>
                        {s.path}
                      </option>
                    ))}
                </select>
              </label>
            )}
            {rankBy === ALL_SCORES && (
              <label>
                <span>sort by</span>
                <select data-control="sort-by" value={sortBy} onChange={(e) => setSortBy(e.currentTarget.value)}>
                  <option value="">(first column)</option>
                  {props.measures.rankAll.map((id) => (
                    <option key={id} value={id}>
                      {id}
                    </option>
                  ))}
                </select>
              </label>
            )}
            {viaOffered && dictChoices.length > 0 && (
              <label title="A Taskonomy result dict of measured transfers among known tasks (members labelled like its tasks): also rank its sources by their measured ranks on the known tasks most similar to the target (taskmap rank --via-transfers)">
                <span>through measured transfers</span>
                <select data-control="via-transfers" value={viaDict} onChange={(e) => setViaDict(e.currentTarget.value)}>
                  <option value="">(none)</option>
                  {dictChoices.map((r) => (
                    <option key={r.path} value={r.path}>
                      {r.path}
                    </option>
                  ))}
                </select>
              </label>
            )}
            {viaOn && (
              <>
                <label title="Renames of the dict's tasks to the members' labels or models, as old=new, separated by commas (taskmap rank --alias)">
                  <span>aliases (old=new, …)</span>
                  <input type="text" data-control="via-aliases" placeholder="none" value={viaAliases} onInput={(e) => setViaAliases(e.currentTarget.value)} />
                </label>
                <label title='How many of the known tasks most similar to the target weigh (ties at the last kept); "all": every one. Empty: 3'>
                  <span>neighbours</span>
                  <input
                    type="text"
                    inputMode="numeric"
                    placeholder="3 (or all)"
                    data-control="via-neighbours"
                    value={viaNeighbours}
                    onInput={(e) => setViaNeighbours(e.currentTarget.value)}
                  />
                </label>
              </>
            )}
            {viaOffered && (
              <LabelsFilePicker
                title="The new task's labels (one per probe image) beside its trained network as the target: also score every source on them and rank by both places summed (taskmap rank --labels)"
                name="with the new task's labels"
                control="with-labels"
                none="(none)"
                value={withLabels}
                files={labelsFiles}
                onChange={setWithLabels}
                onUploaded={onLabelsUploaded(setWithLabels)}
              />
            )}
            {labelsOn && (
              <>
                {kindSelect('with-labels-kind')}
                <label title="The label-based score read beside the similarity (taskmap rank --label-score)">
                  <span>score on the labels</span>
                  <select data-control="label-score" value={labelScore} onChange={(e) => setLabelScore(e.currentTarget.value)}>
                    {featureScores.map((id) => (
                      <option key={id} value={id}>
                        {id}
                      </option>
                    ))}
                  </select>
                </label>
              </>
            )}
            <label>
              <span>bootstrap draws</span>
              <input type="number" min={0} max={2000} data-control="bootstrap" value={bootstrap} onInput={(e) => setBootstrap(e.currentTarget.value)} />
            </label>
            <label>
              <span>images per draw</span>
              <input type="number" min={4} placeholder="min(200, n/2)" data-control="subset" value={subset} onInput={(e) => setSubset(e.currentTarget.value)} />
            </label>
            <label>
              <span>seed</span>
              <input type="number" min={0} data-control="seed" value={seed} onInput={(e) => setSeed(e.currentTarget.value)} />
            </label>
            <button
              type="button"
              class="primary"
              data-action="rank"
              disabled={
                !featureSet || Boolean(matrix) || !target || (labelsMode && !labelsFile) || Boolean(viaError) || ranks.some((r) => r.busy) || table.busy
              }
              onClick={rank}
            >
              Rank sources
            </button>
          </div>
          {viaError && (
            <p class="error" data-via-error>
              {viaError}
            </p>
          )}
          {table.busy && <ProgressBar progress={table.progress} label="computing every score" jobId={table.job} />}
          {table.error && (
            <p class="error" data-error>
              {table.error}
            </p>
          )}
          {table.result && <ScoreTable t={table.result} />}
          <div class={rankSlots.length > 1 ? 'panels two' : 'panels'}>
            {rankSlots.map((_, k) => {
              const r = ranks[k];
              return (
                <div key={k} class="slot">
                  {r.busy && <ProgressBar progress={r.progress} label={`ranking with ${rankBy || ids[k]}`} jobId={r.job} />}
                  {r.error && (
                    <p class="error" data-error>
                      {r.error}
                    </p>
                  )}
                  {r.result && <RankingPanel r={r.result} slot={k === 0 ? 'a' : 'b'} />}
                </div>
              );
            })}
          </div>
        </section>
        {!matrix && (
          <section class="permutation-controls">
            <h2>Permutation test of a pair</h2>
            <div class="row">
              {(
                [
                  ['a', pairA, setPairA, "The pair's first member (its images keep their order)"],
                  ['b', pairB, setPairB, "The pair's second member: its images are shuffled P times"],
                ] as const
              ).map(([which, value, set, title]) => (
                <label key={which} title={title}>
                  <span>model {which}</span>
                  <select data-control={`pair-${which}`} value={value} onChange={(e) => set(e.currentTarget.value)}>
                    {(info?.members ?? []).map((m) => (
                      <option key={m.label}>{m.label}</option>
                    ))}
                  </select>
                </label>
              ))}
              {(
                [
                  ['permutations', 'permutations', shuffles, setShuffles, 10000, 'Number of shuffles P (1–10000): the smallest possible p is 1/(P + 1)'],
                  ['seed', 'pair-seed', pairSeed, setPairSeed, undefined, 'Generator seed, 0…4294967295'],
                ] as const
              ).map(([name, control, value, set, max, title]) => (
                <label key={control} title={title}>
                  <span>{name}</span>
                  <input
                    type="number"
                    min={name === 'seed' ? 0 : 1}
                    max={max}
                    data-control={control}
                    value={value}
                    onInput={(e) => set(e.currentTarget.value)}
                  />
                </label>
              ))}
              <button
                type="button"
                class="primary"
                data-action="permutation"
                disabled={!featureSet || !pairA || !pairB || !(Number(shuffles) >= 1) || perm.busy}
                onClick={testPair}
              >
                Test pair ({ids[0]})
              </button>
            </div>
            {perm.busy && <ProgressBar progress={perm.progress} label={`shuffling ${pairB}`} jobId={perm.job} />}
            {perm.error && (
              <p class="error" data-error>
                {perm.error}
              </p>
            )}
            {perm.result && <PermutationPanel t={perm.result} />}
          </section>
        )}
      </main>
    </div>
  );
}
