import type { RefObject } from 'preact';
import { interpolateViridis } from 'd3';
import type { PolicyResponse } from '../types.js';

export type ColourBy = 'gain' | 'quality' | 'value';

const COLOUR_TITLE: Record<ColourBy, string> = {
  gain: 'Gain (win rate vs pixels)',
  quality: 'Quality (win rate vs self)',
  value: 'transfer value (objective)',
};

function textWidth(s: string): number {
  return 10 + 6.8 * s.length;
}

/**
 * The supervision policy as a graph: labelled (fully supervised) tasks on the left, tasks solved by transfer on
 * the right, one edge per transfer — a higher-order transfer joins its sources at a junction first. Edges and
 * supervised targets are coloured by Gain or Quality (viridis, 0…1). Right-hand tasks are ordered by the mean
 * position of their sources, which keeps edges short and mostly uncrossed.
 */
export function PolicyGraph(props: { policy: PolicyResponse; colourBy: ColourBy; svgRef: RefObject<SVGSVGElement | null> }) {
  const p = props.policy;
  const rowH = 30;
  const top = 40;
  const solvedBy = new Map(p.targets.map((t) => [t.target, t]));
  const leftTasks = [...p.supervised];
  const leftW = Math.max(120, ...leftTasks.map(textWidth));
  const rightW = Math.max(120, ...p.transfers.map((t) => textWidth(t.target)));
  const leftY = new Map(leftTasks.map((t, i) => [t, top + i * rowH]));
  const right = [...p.transfers].sort((a, b) => {
    const mean = (s: string[]) => s.reduce((acc, x) => acc + (leftY.get(x) ?? 0), 0) / s.length;
    return mean(a.sources) - mean(b.sources) || (a.target < b.target ? -1 : 1);
  });
  const rightY = new Map(right.map((t, i) => [t.target, top + i * rowH]));
  const gap = 260;
  const x0 = 10;
  const x1 = x0 + leftW;
  const x2 = x1 + gap;
  const width = x2 + rightW + 20;
  const legendY = top + Math.max(leftTasks.length, right.length) * rowH + 10;
  const height = legendY + 64;
  const colourOf = (v: number | undefined) => (v === undefined ? '#9aa5b1' : interpolateViridis(Math.max(0, Math.min(1, v))));
  const metric = (t: { gain?: number; quality?: number; value: number }) =>
    props.colourBy === 'gain' ? t.gain : props.colourBy === 'quality' ? t.quality : t.value;
  const fmt = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(3));
  const gradId = 'policy-legend-gradient';
  return (
    <svg ref={props.svgRef} width={width} height={height} viewBox={`0 0 ${width} ${height}`} class="policy-graph" font-size="12">
      <defs>
        <marker id="policy-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0,0L10,5L0,10z" fill="#555" />
        </marker>
        <linearGradient id={gradId} x1="0" x2="1" y1="0" y2="0">
          {[0, 0.25, 0.5, 0.75, 1].map((t) => (
            <stop key={t} offset={t} stop-color={interpolateViridis(t)} />
          ))}
        </linearGradient>
      </defs>
      <text x={x0} y={18} font-weight="600" fill="#333">
        labelled (fully supervised)
      </text>
      <text x={x2} y={18} font-weight="600" fill="#333">
        solved by transfer
      </text>
      {right.map((t) => {
        const ty = rightY.get(t.target)!;
        const colour = colourOf(metric(t));
        const title = `${t.sources.join(' + ')} → ${t.target}: affinity ${fmt(t.affinity)}, value ${fmt(t.value)}, gain ${fmt(t.gain)}, quality ${fmt(t.quality)}`;
        const jx = x2 - 60;
        return (
          <g key={t.target} data-edge={`${t.sources.join('+')}->${t.target}`}>
            <title>{title}</title>
            {t.sources.map((s) => {
              const sy = leftY.get(s) ?? ty;
              const endX = t.sources.length > 1 ? jx : x2;
              return (
                <path
                  key={s}
                  d={`M${x1},${sy}C${(x1 + endX) / 2},${sy} ${(x1 + endX) / 2},${ty} ${endX},${ty}`}
                  fill="none"
                  stroke={colour}
                  stroke-width={2.4}
                  opacity={0.9}
                  marker-end={t.sources.length > 1 ? undefined : 'url(#policy-arrow)'}
                />
              );
            })}
            {t.sources.length > 1 && (
              <>
                <circle cx={jx} cy={ty} r={4} fill={colour} />
                <path d={`M${jx},${ty}H${x2}`} stroke={colour} stroke-width={2.4} marker-end="url(#policy-arrow)" />
              </>
            )}
          </g>
        );
      })}
      {leftTasks.map((t) => {
        const y = leftY.get(t)!;
        const solved = solvedBy.get(t);
        const fill = solved ? colourOf(metric(solved)) : '#f4f6f8';
        const dark = solved && (metric(solved) ?? 1) < 0.55;
        return (
          <g key={t} data-task={t} data-role="labelled">
            <title>
              {solved
                ? `${t}: labelled and solved by its own network (gain ${fmt(solved.gain)}, quality ${fmt(solved.quality)})`
                : `${t}: labelled as a source only`}
            </title>
            <rect
              x={x0}
              y={y - 11}
              width={leftW}
              height={22}
              rx={4}
              fill={fill}
              stroke="#333"
              stroke-width={1.6}
              stroke-dasharray={solved ? undefined : '4 3'}
            />
            <text x={x0 + 8} y={y} dominant-baseline="middle" fill={dark ? '#fff' : '#111'}>
              {t}
            </text>
          </g>
        );
      })}
      {right.map((t) => {
        const y = rightY.get(t.target)!;
        return (
          <g key={t.target} data-task={t.target} data-role="transfer">
            <rect x={x2} y={y - 11} width={rightW} height={22} rx={4} fill="#fff" stroke="#777" />
            <text x={x2 + 8} y={y} dominant-baseline="middle" fill="#111">
              {t.target}
            </text>
          </g>
        );
      })}
      <g transform={`translate(${x0},${legendY})`}>
        <text y={10} fill="#333">
          {COLOUR_TITLE[props.colourBy]}
        </text>
        <rect y={16} width={200} height={10} fill={`url(#${gradId})`} />
        {[0, 0.5, 1].map((t) => (
          <text key={t} x={200 * t} y={40} text-anchor="middle" fill="#555">
            {t}
          </text>
        ))}
        <text y={58} fill="#555">
          filled box: labelled target (its own network) · dashed: labelled, used only as a source
        </text>
      </g>
    </svg>
  );
}
