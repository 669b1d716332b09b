/**
 * Taskonomy explorer: result dicts (Taskonomy's pickles as published, or JSON; from the data roots or uploaded)
 * → the first-order matrix before AHP (win rates vs a baseline) and after (AHP affinities), the supervision
 * policy re-solved by the server on every change of budget, roles, max order, costs or objective, drawn as a
 * graph coloured by Gain or Quality, and the budget sweep. Tournaments (wins JSON / losses CSV) go through AHP
 * on the server, and the resulting affinities can then drive the policy.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, get, post, runJob } from '../api.js';
import { heatmapSpec, sweepSpec } from '../charts.js';
import { DataTable } from '../components/DataTable.js';
import { PolicyGraph, type ColourBy } from '../components/PolicyGraph.js';
import { ProgressBar } from '../components/ProgressBar.js';
import { SvgFigure } from '../components/SvgFigure.js';
import { Upload } from '../components/Upload.js';
import { VegaFigure } from '../components/VegaFigure.js';
import type {
  AhpResponse,
  Catalog,
  LabelledMatrixJson,
  MeasuresResponse,
  PolicyBody,
  PolicyResponse,
  Progress,
  ResultEntry,
  ResultInfo,
  SweepResponse,
} from '../types.js';

type Role = 'target' | 'source' | 'targetOnly' | 'unused';
const ROLE_LABEL: Record<Role, string> = { target: 'target', source: 'source only', targetOnly: 'target only', unused: 'unused' };

function errorText(e: unknown): string {
  return e instanceof ApiError ? e.message : String((e as Error)?.message ?? e);
}

/** The win-rate file that goes with an affinity file by Taskonomy's naming (all_affinities_16k ↔ wins_vs_pixels_16k). */
function companion(affinities: string, results: ResultEntry[], role: 'gain' | 'quality'): string {
  const m = /all_affinities(_\w+?)?\.(json|pkl)$/.exec(affinities);
  if (!m) return '';
  const name = `${role === 'gain' ? 'wins_vs_pixels' : 'wins_vs_task'}${m[1] ?? ''}.${m[2]}`;
  return results.find((r) => r.path.endsWith(`/${name}`))?.path ?? '';
}

function defaultAffinities(results: ResultEntry[]): string {
  const aff = results.filter((r) => r.kind === 'resultDict' && r.role === 'affinities');
  return (aff.find((r) => /all_affinities_16k\.pkl$/.test(r.path)) ?? aff[0] ?? results.find((r) => r.kind === 'resultDict'))?.path ?? '';
}

function rolesFrom(info: ResultInfo): Record<string, Role> {
  const roles: Record<string, Role> = {};
  for (const t of info.tasks) roles[t] = 'unused';
  for (const t of info.defaultRoles.targets) roles[t] = 'target';
  for (const t of info.defaultRoles.sourceOnly) roles[t] = 'source';
  for (const t of info.defaultRoles.targetOnly) roles[t] = 'targetOnly';
  return roles;
}

function ResultSelect(props: { label: string; value: string; options: ResultEntry[]; onChange: (v: string) => void; control: string; optional?: boolean }) {
  return (
    <label>
      <span>{props.label}</span>
      <select data-control={props.control} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {props.optional && <option value="">(none)</option>}
        {props.options.map((r) => (
          <option key={r.path} value={r.path}>
            {r.path}
          </option>
        ))}
      </select>
    </label>
  );
}

type Setter<T> = (v: T) => void;

/** The aside's first part: the affinity and win-rate files, and uploads. */
function ResultFiles(props: {
  dicts: ResultEntry[];
  affinities: string;
  gainFile: string;
  qualityFile: string;
  chooseAffinities: Setter<string>;
  setGainFile: Setter<string>;
  setQualityFile: Setter<string>;
  onUploaded: (r: { saved: { kind: string; path: string }[] }) => Promise<void>;
}) {
  const { dicts } = props;
  return (
    <>
      <h2>Transfer results</h2>
      {dicts.length === 0 && (
        <p class="note">
          No Taskonomy result dicts under the data roots. Serve them with <code>--data-root</code> or upload a .pkl / .json file.
        </p>
      )}
      <ResultSelect label="affinities" control="affinities" value={props.affinities} options={dicts} onChange={props.chooseAffinities} />
      <ResultSelect label="Gain (wins vs pixels)" control="winsVsPixels" value={props.gainFile} options={dicts} optional onChange={props.setGainFile} />
      <ResultSelect label="Quality (wins vs task)" control="winsVsTask" value={props.qualityFile} options={dicts} optional onChange={props.setQualityFile} />
      <Upload label="Upload results (.pkl, .json, losses .csv)" accept=".pkl,.pickle,.json,.csv" multiple name="results" onUploaded={props.onUploaded} />
    </>
  );
}

/**
 * How the form shows an objective the server lists (GET /api/measures `policyObjectives`): its label, and the
 * win-rate file it needs (the option is disabled without it). An objective missing here shows by its id.
 */
const OBJECTIVE_FORM: Record<string, { label: string; needs?: 'gain' | 'quality' }> = {
  affinity: { label: 'affinity (paper)' },
  sqrtAffinity: { label: '√affinity (web API)' },
  winsVsPixels: { label: 'Gain (wins vs pixels)', needs: 'gain' },
  winsVsTask: { label: 'Quality (wins vs task)', needs: 'quality' },
};

/** The policy's options: budget, max order, objective, solver and the colouring of the graph. */
function PolicyOptions(props: {
  budget: number;
  setBudget: Setter<number>;
  maxBudget: number;
  maxOrder: number;
  setMaxOrder: Setter<number>;
  fileMaxOrder: number;
  objective: string;
  setObjective: Setter<string>;
  objectives: string[];
  solver: string;
  setSolver: Setter<string>;
  solvers: string[];
  colour: ColourBy;
  setColourBy: Setter<ColourBy>;
  hasGain: boolean;
  hasQuality: boolean;
}) {
  const { budget, hasGain, hasQuality } = props;
  return (
    <>
      <h2>Policy</h2>
      <label>
        <span>
          budget <output data-budget>{budget}</output>
        </span>
        <input
          type="range"
          min={0}
          max={props.maxBudget}
          step={1}
          value={budget}
          data-control="budget"
          onInput={(e) => props.setBudget(Number(e.currentTarget.value))}
        />
      </label>
      <label>
        <span>max order</span>
        <select data-control="maxOrder" value={props.maxOrder} onChange={(e) => props.setMaxOrder(Number(e.currentTarget.value))}>
          {Array.from({ length: props.fileMaxOrder }, (_, i) => i + 1).map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span>objective</span>
        <select data-control="objective" value={props.objective} onChange={(e) => props.setObjective(e.currentTarget.value)}>
          {props.objectives.map((o) => {
            const form = OBJECTIVE_FORM[o];
            const missing = (form?.needs === 'gain' && !hasGain) || (form?.needs === 'quality' && !hasQuality);
            return (
              <option key={o} value={o} disabled={missing}>
                {form?.label ?? o}
              </option>
            );
          })}
        </select>
      </label>
      <label title="auto: exact enumeration when the problem is small, else HiGHS (both exact)">
        <span>solver</span>
        <select data-control="solver" value={props.solver} onChange={(e) => props.setSolver(e.currentTarget.value)}>
          {props.solvers.map((x) => (
            <option key={x}>{x}</option>
          ))}
        </select>
      </label>
      <label>
        <span>colour by</span>
        <select data-control="colourBy" value={props.colour} onChange={(e) => props.setColourBy(e.currentTarget.value as ColourBy)}>
          <option value="gain" disabled={!hasGain}>
            Gain
          </option>
          <option value="quality" disabled={!hasQuality}>
            Quality
          </option>
          <option value="value">transfer value</option>
        </select>
      </label>
    </>
  );
}

/** Each task's role and labelling cost, with shortcuts that set every role at once. */
function RolesTable(props: {
  info: ResultInfo;
  roles: Record<string, Role>;
  setRoles: Setter<Record<string, Role>>;
  costs: Record<string, string>;
  setCosts: Setter<Record<string, string>>;
  setAll: (role: Role | 'defaults') => void;
}) {
  const { info, roles, costs, setAll } = props;
  return (
    <>
      <div class="row">
        <button type="button" class="small" data-action="roles-defaults" onClick={() => setAll('defaults')}>
          defaults
        </button>
        <button type="button" class="small" data-action="roles-unused" onClick={() => setAll('unused')}>
          all unused
        </button>
        <button type="button" class="small" data-action="roles-target" onClick={() => setAll('target')}>
          all targets
        </button>
      </div>
      <div class="roles scroll" data-roles>
        <table>
          <thead>
            <tr>
              <th>task</th>
              <th>role</th>
              <th>cost</th>
            </tr>
          </thead>
          <tbody>
            {info.tasks.map((t) => (
              <tr key={t} data-task-row={t}>
                <td>{t}</td>
                <td>
                  <select data-role-of={t} value={roles[t] ?? 'unused'} onChange={(e) => props.setRoles({ ...roles, [t]: e.currentTarget.value as Role })}>
                    {(Object.keys(ROLE_LABEL) as Role[]).map((r) => (
                      <option key={r} value={r} disabled={(r === 'target' || r === 'targetOnly') && !info.targets.includes(t)}>
                        {ROLE_LABEL[r]}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <input
                    type="number"
                    min={0}
                    step="any"
                    placeholder="1"
                    class="cost"
                    data-cost-of={t}
                    value={costs[t] ?? ''}
                    onInput={(e) => props.setCosts({ ...costs, [t]: e.currentTarget.value })}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

interface LivePolicy {
  policy: PolicyResponse | null;
  policyError: string | null;
  timing: { roundTrip: number; n: number } | null;
  solving: boolean;
  /** Every answer to a policy request, success or refusal: lets a test (or a person) see that a change was handled. */
  answers: number;
  clear: () => void;
}

/**
 * The policy, re-solved live: every change of the problem or the budget sends one request, and a newer change
 * aborts the older request. The next budget in the direction the budget last moved is solved ahead (the server
 * caches it), so dragging the slider step by step mostly finds its answer ready.
 */
function useLivePolicy(problem: Omit<PolicyBody, 'budget'> | null, budget: number, maxBudget: number): LivePolicy {
  const [policy, setPolicy] = useState<PolicyResponse | null>(null);
  const [policyError, setPolicyError] = useState<string | null>(null);
  const [timing, setTiming] = useState<{ roundTrip: number; n: number } | null>(null);
  const [solving, setSolving] = useState(false);
  const [answers, setAnswers] = useState(0);
  const solveCount = useRef(0);
  const lastBudget = useRef(budget);
  const direction = useRef(1);
  const prefetched = useRef(new Set<string>());

  useEffect(() => {
    if (budget !== lastBudget.current) direction.current = budget > lastBudget.current ? 1 : -1;
    lastBudget.current = budget;
    if (!problem) return;
    const ctl = new AbortController();
    const t0 = performance.now();
    setSolving(true);
    const timer = setTimeout(() => {
      post<PolicyResponse>('policy', { ...problem, budget }, ctl.signal).then(
        (r) => {
          solveCount.current++;
          setPolicy(r);
          setPolicyError(null);
          setTiming({ roundTrip: performance.now() - t0, n: solveCount.current });
          setSolving(false);
          setAnswers((a) => a + 1);
          const next = budget + direction.current;
          const ahead = JSON.stringify({ ...problem, budget: next });
          if (next >= 0 && next <= maxBudget && !prefetched.current.has(ahead)) {
            prefetched.current.add(ahead);
            post<PolicyResponse>('policy', { ...problem, budget: next }).catch(() => prefetched.current.delete(ahead));
          }
        },
        (e) => {
          if ((e as Error).name === 'AbortError') return;
          setPolicy(null);
          setPolicyError(errorText(e));
          setSolving(false);
          setAnswers((a) => a + 1);
        },
      );
    }, 30);
    return () => {
      clearTimeout(timer);
      ctl.abort();
    };
  }, [problem, budget]);

  return { policy, policyError, timing, solving, answers, clear: () => setPolicy(null) };
}

/** The policy as solved: summary, timing, graph and the per-target table. */
function PolicyView(props: { live: LivePolicy; colour: ColourBy }) {
  const { policy, policyError, solving, answers, timing } = props.live;
  return (
    <section class="policy" data-answers={answers} data-policy-status={solving ? 'solving' : policy ? policy.status : policyError ? 'error' : 'none'}>
      <h2>Supervision policy</h2>
      {policyError && (
        <p class="error" data-error>
          {policyError}
        </p>
      )}
      {policy && (
        <>
          <p class="summary" data-policy-summary>
            <strong>Label {policy.supervised.length === 1 ? 'task' : `${policy.supervised.length} tasks`}:</strong>{' '}
            <span data-supervised>{[...policy.supervised].sort().join(', ') || '(none)'}</span> · objective ({policy.objectiveKind}){' '}
            <span data-objective>{policy.objective === null ? '–' : policy.objective.toFixed(6)}</span> · cost {policy.cost ?? '–'} of {policy.budget} · max
            order {policy.maxOrder}
            {policy.meanGain !== null && ` · mean Gain ${policy.meanGain.toFixed(3)}`}
            {policy.meanQuality !== null && ` · mean Quality ${policy.meanQuality.toFixed(3)}`} · <span data-status>{policy.status}</span> ({policy.solver})
          </p>
          <p class="note" data-timing>
            re-solved in <span data-roundtrip-ms>{timing ? timing.roundTrip.toFixed(0) : '–'}</span> ms (server {policy.serverMs.toFixed(0)} ms, solver{' '}
            {policy.timeMs.toFixed(0)} ms
            {policy.cached ? ', cached' : ''}) · solve #{timing?.n ?? 0}
          </p>
          {policy.message && <p class="note">{policy.message}</p>}
          {policy.objective !== null && (
            <SvgFigure title="Supervision policy graph" id="policy-graph">
              {(ref) => <PolicyGraph policy={policy} colourBy={props.colour} svgRef={ref} />}
            </SvgFigure>
          )}
          <DataTable
            title="Policy: how each target is solved"
            id="policy-table"
            columns={['target', 'via', 'sources', 'affinity', 'value', 'Gain', 'Quality']}
            rows={policy.targets.map((t) => [t.target, t.via, t.sources.join(' + '), t.affinity, t.value, t.gain ?? null, t.quality ?? null])}
            json={policy}
          />
        </>
      )}
    </section>
  );
}

type SweepState = { busy: boolean; progress: Progress | null; result: SweepResponse | null; error: string | null; job?: string | null };
const NO_SWEEP: SweepState = { busy: false, progress: null, result: null, error: null };

/** The budget sweep: a button that solves every budget (a server job with progress), its chart and table. */
function SweepView(props: { sweep: SweepState; objective: string; onRun: () => void }) {
  const { sweep } = props;
  const sweepChart = useMemo(() => sweep.result && sweepSpec(sweep.result.sweep, props.objective), [sweep.result]);
  return (
    <section class="sweep">
      <h2>Budget sweep</h2>
      <button type="button" class="primary" data-action="sweep" disabled={sweep.busy} onClick={props.onRun}>
        Solve every budget
      </button>
      {sweep.busy && <ProgressBar progress={sweep.progress} label="budget sweep" jobId={sweep.job} />}
      {sweep.error && <p class="error">{sweep.error}</p>}
      {sweepChart && sweep.result && (
        <>
          <VegaFigure title="Objective, mean Gain and mean Quality against budget" id="budget-sweep" spec={sweepChart} />
          <DataTable
            title="Budget sweep"
            id="sweep-table"
            columns={['budget', 'status', 'objective', 'mean Gain', 'mean Quality', 'labelled']}
            rows={sweep.result.sweep.map((r) => [r.budget, r.status, r.objective, r.meanGain, r.meanQuality, r.supervised.join(', ')])}
            json={sweep.result}
          />
        </>
      )}
    </section>
  );
}

/** The first-order matrix before AHP (win rates vs pixels) and after (affinities). */
function AhpMatrices(props: { before: LabelledMatrixJson | null; after: LabelledMatrixJson | null }) {
  const { before, after } = props;
  const beforeSpec = useMemo(
    () => before && heatmapSpec(before, { valueTitle: 'win rate vs pixels', rowTitle: 'source', colTitle: 'target', domain: [0, 1], legendBelow: true }),
    [before],
  );
  const afterSpec = useMemo(
    () => after && heatmapSpec(after, { valueTitle: 'AHP affinity (log scale)', rowTitle: 'source', colTitle: 'target', scaleType: 'log', legendBelow: true }),
    [after],
  );
  return (
    <section class="matrices">
      <h2>Affinity matrix before and after AHP</h2>
      <div class="panels two">
        {beforeSpec ? (
          <VegaFigure title="Before AHP: win rate vs pixels (Gain)" id="before-ahp" spec={beforeSpec} />
        ) : (
          <p class="note">Choose a Gain (wins vs pixels) file to see the raw win rates beside the affinities.</p>
        )}
        {afterSpec && <VegaFigure title="After AHP: affinities" id="after-ahp" spec={afterSpec} />}
      </div>
    </section>
  );
}

/** AHP on the server from tournaments (wins JSON or losses CSV); the affinities it saves can drive the policy. */
function AhpFromTournaments(props: {
  tournaments: string;
  setTournaments: Setter<string>;
  files: ResultEntry[];
  onSaved: (saved: NonNullable<AhpResponse['saved']>) => Promise<void>;
}) {
  const { tournaments } = props;
  const [ahp, setAhp] = useState<{ busy: boolean; result: AhpResponse | null; error: string | null }>({ busy: false, result: null, error: null });
  const runAhp = (save: boolean) => {
    setAhp({ busy: true, result: null, error: null });
    const body: Record<string, unknown> = { tournaments };
    if (save)
      body.save = tournaments
        .split('/')
        .pop()!
        .replace(/\.(json|csv)$/i, '');
    post<AhpResponse>('ahp', body).then(
      async (result) => {
        setAhp({ busy: false, result, error: null });
        if (result.saved) await props.onSaved(result.saved);
      },
      (e) => setAhp({ busy: false, result: null, error: errorText(e) }),
    );
  };
  const ahpBefore = useMemo(
    () =>
      ahp.result?.before &&
      heatmapSpec(ahp.result.before, {
        valueTitle: `win rate vs ${ahp.result.before.baseline}`,
        rowTitle: 'source',
        colTitle: 'target',
        domain: [0, 1],
        legendBelow: true,
      }),
    [ahp.result],
  );
  const ahpAfter = useMemo(
    () =>
      ahp.result &&
      heatmapSpec(ahp.result.after, { valueTitle: 'AHP affinity (log scale)', rowTitle: 'source', colTitle: 'target', scaleType: 'log', legendBelow: true }),
    [ahp.result],
  );
  return (
    <section class="ahp">
      <h2>AHP from tournaments</h2>
      <p class="note">
        Per-target tournament matrices (wins JSON, or per-image losses CSV as for <code>taskmap ahp</code>) → affinities by AHP.
      </p>
      <div class="row">
        <ResultSelect label="tournaments" control="tournaments" value={tournaments} options={props.files} optional onChange={props.setTournaments} />
        <button type="button" class="small" data-action="ahp" disabled={!tournaments || ahp.busy} onClick={() => runAhp(false)}>
          Run AHP
        </button>
        <button type="button" class="small" data-action="ahp-use" disabled={!tournaments || ahp.busy} onClick={() => runAhp(true)}>
          Run AHP and use for the policy
        </button>
      </div>
      {ahp.error && <p class="error">{ahp.error}</p>}
      {ahp.result && (
        <>
          <div class="panels two">
            {ahpBefore && <VegaFigure title={`Before AHP: win rate vs ${ahp.result.before!.baseline}`} id="ahp-before" spec={ahpBefore} />}
            {ahpAfter && <VegaFigure title="After AHP: affinities" id="ahp-after" spec={ahpAfter} />}
          </div>
          <DataTable
            title="AHP consistency per target"
            id="ahp-consistency"
            columns={['target', 'candidates', 'λmax', 'CI', 'CR']}
            rows={ahp.result.consistency.map((c) => [c.target, c.candidates, c.lambdaMax, c.consistencyIndex, c.consistencyRatio])}
            json={ahp.result}
          />
        </>
      )}
    </section>
  );
}

export function TaskonomyExplorer(props: { measures: MeasuresResponse; catalog: Catalog; refresh: () => Promise<Catalog> }) {
  const results = props.catalog.results;
  const dicts = results.filter((r) => r.kind === 'resultDict');
  // 1. The files: affinities, their companion win-rate files, tournaments.
  const [affinities, setAffinities] = useState(() => defaultAffinities(results));
  const [gainFile, setGainFile] = useState(() => companion(affinities, results, 'gain'));
  const [qualityFile, setQualityFile] = useState(() => companion(affinities, results, 'quality'));
  const [tournaments, setTournaments] = useState(() => results.find((r) => r.kind === 'tournaments' || r.kind === 'losses')?.path ?? '');
  // 2. What the server says about them: tasks and default roles, the matrices before and after AHP.
  const [info, setInfo] = useState<ResultInfo | null>(null);
  const [infoError, setInfoError] = useState<string | null>(null);
  const [before, setBefore] = useState<LabelledMatrixJson | null>(null);
  const [after, setAfter] = useState<LabelledMatrixJson | null>(null);
  // 3. The policy problem as the user sets it.
  const [roles, setRoles] = useState<Record<string, Role>>({});
  const [costs, setCosts] = useState<Record<string, string>>({});
  const [budget, setBudget] = useState(3);
  const [maxOrder, setMaxOrder] = useState(2);
  const { policyObjectives: objectives, solvers } = props.measures;
  const [objective, setObjective] = useState<string>(() => objectives[0]);
  const [solver, setSolver] = useState<string>(() => solvers[0]);
  const [colourBy, setColourBy] = useState<ColourBy>('gain');
  const [sweep, setSweep] = useState<SweepState>(NO_SWEEP);

  useEffect(() => {
    if (!affinities && dicts.length) setAffinities(defaultAffinities(results));
  }, [results]);

  const problem = useMemo((): Omit<PolicyBody, 'budget'> | null => {
    if (!info || !affinities) return null;
    const of = (r: Role) =>
      Object.keys(roles)
        .filter((t) => roles[t] === r)
        .sort();
    const cost: Record<string, number> = {};
    for (const [t, v] of Object.entries(costs)) if (v.trim() !== '' && Number.isFinite(Number(v))) cost[t] = Number(v);
    const body: Omit<PolicyBody, 'budget'> = {
      affinities,
      targets: of('target'),
      sourceOnly: of('source'),
      targetOnly: of('targetOnly'),
      maxOrder,
      cost,
      objective: objective as PolicyBody['objective'],
      solver: solver as PolicyBody['solver'],
    };
    if (gainFile) body.winsVsPixels = gainFile;
    if (qualityFile) body.winsVsTask = qualityFile;
    return body;
  }, [info, affinities, roles, costs, maxOrder, objective, solver, gainFile, qualityFile]);

  const maxBudget = useMemo(() => {
    if (!info) return 10;
    const supervisable = Object.keys(roles).filter((t) => roles[t] === 'target' || roles[t] === 'source');
    return Math.max(1, Math.ceil(supervisable.reduce((a, t) => a + (Number(costs[t]) || 1), 0)));
  }, [info, roles, costs]);

  // 4. The policy, re-solved on every change.
  const live = useLivePolicy(problem, budget, maxBudget);

  // A new affinity file: its tasks, default roles, matrices; companion win-rate files by name.
  useEffect(() => {
    setInfo(null);
    setInfoError(null);
    live.clear();
    setSweep(NO_SWEEP);
    if (!affinities) return;
    get<ResultInfo>('results/info', { path: affinities }).then(
      (i) => {
        setInfo(i);
        setRoles(rolesFrom(i));
        setCosts({});
        setMaxOrder((k) => Math.min(k, Math.max(1, ...Object.keys(i.orders).map(Number))));
      },
      (e) => setInfoError(errorText(e)),
    );
    post<LabelledMatrixJson>('results/matrix', { path: affinities }).then(setAfter, () => setAfter(null));
  }, [affinities]);
  useEffect(() => {
    if (!gainFile) return setBefore(null);
    post<LabelledMatrixJson>('results/matrix', { path: gainFile }).then(setBefore, () => setBefore(null));
  }, [gainFile]);

  const fileMaxOrder = info ? Math.max(1, ...Object.keys(info.orders).map(Number)) : 5;
  const setAll = (role: Role | 'defaults') => {
    if (!info) return;
    setRoles(role === 'defaults' ? rolesFrom(info) : Object.fromEntries(info.tasks.map((t) => [t, role])));
  };
  const chooseAffinities = (v: string) => {
    setAffinities(v);
    setGainFile(companion(v, results, 'gain'));
    setQualityFile(companion(v, results, 'quality'));
  };
  const runSweep = () => {
    if (!problem) return;
    setSweep({ busy: true, progress: null, result: null, error: null });
    runJob<SweepResponse>('policy/sweep', problem, (p, job) => setSweep((s) => ({ ...s, progress: p, job: job.id }))).then(
      (result) => setSweep({ busy: false, progress: null, result, error: null }),
      (e) => setSweep({ busy: false, progress: null, result: null, error: errorText(e) }),
    );
  };

  const hasGain = Boolean(gainFile);
  const hasQuality = Boolean(qualityFile);
  const colour: ColourBy =
    colourBy === 'gain' && !hasGain ? (hasQuality ? 'quality' : 'value') : colourBy === 'quality' && !hasQuality ? (hasGain ? 'gain' : 'value') : colourBy;

  return (
    <div class="explorer" id="taskonomy-explorer">
      <aside class="controls">
        <ResultFiles
          {...{ dicts, affinities, gainFile, qualityFile, chooseAffinities, setGainFile, setQualityFile }}
          onUploaded={async (r) => {
            await props.refresh();
            const dict = r.saved.find((s) => s.kind === 'resultDict');
            if (dict) setAffinities(dict.path);
            const t = r.saved.find((s) => s.kind === 'tournaments' || s.kind === 'losses');
            if (t) setTournaments(t.path);
          }}
        />
        {infoError && <p class="error">{infoError}</p>}
        {info && (
          <>
            <PolicyOptions
              {...{
                budget,
                setBudget,
                maxBudget,
                maxOrder,
                setMaxOrder,
                fileMaxOrder,
                objective,
                setObjective,
                objectives,
                solver,
                setSolver,
                solvers,
                colour,
                setColourBy,
                hasGain,
                hasQuality,
              }}
            />
            <RolesTable {...{ info, roles, setRoles, costs, setCosts, setAll }} />
          </>
        )}
      </aside>
      <main class="results">
        {info && <PolicyView live={live} colour={colour} />}
        {info && <SweepView sweep={sweep} objective={objective} onRun={runSweep} />}
        <AhpMatrices before={before} after={after} />
        <AhpFromTournaments
          tournaments={tournaments}
          setTournaments={setTournaments}
          files={results.filter((r) => r.kind === 'tournaments' || r.kind === 'losses')}
          onSaved={async (saved) => {
            await props.refresh();
            setAffinities(saved.affinities);
            setGainFile(saved.wins_vs_pixels ?? '');
            setQualityFile(saved.wins_vs_task ?? '');
          }}
        />
      </main>
    </div>
  );
}
