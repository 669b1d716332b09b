import type { RefObject } from 'preact';
import { scaleLinear, schemeTableau10 } from 'd3';
import type { TreeNode } from '../types.js';

/** Colours for group names, assigned in sorted order as Vega assigns its 'tableau10' scheme to a nominal field. */
export function groupColours(groups: string[]): Map<string, string> {
  return new Map([...new Set(groups)].sort().map((g, i) => [g, schemeTableau10[i % schemeTableau10.length]]));
}

interface Placed {
  x: number;
  y: number;
  node: TreeNode;
  children: Placed[];
}

/**
 * The average-linkage tree drawn left (root) to right (leaves), merge heights on the x axis; leaves follow the
 * dendrogram's leaf order, the same order as the heatmap's rows, and carry their family / cluster colour.
 */
export function Dendrogram(props: {
  tree: TreeNode;
  leafOrder: string[];
  groups: Record<string, string>;
  svgRef: RefObject<SVGSVGElement | null>;
  distanceLabel: string;
}) {
  const step = 18;
  const labelWidth = Math.min(260, 12 + 6.6 * Math.max(...props.leafOrder.map((l) => l.length)));
  const plotW = 300;
  const left = 16;
  const top = 10;
  const height = top + step * props.leafOrder.length + 36;
  const width = left + plotW + labelWidth + 20;
  const maxH = Math.max(props.tree.distance, 1e-12);
  const x = scaleLinear()
    .domain([maxH, 0])
    .range([left, left + plotW])
    .nice();
  const index = new Map(props.leafOrder.map((l, i) => [l, i]));
  const colours = groupColours(Object.values(props.groups));
  const place = (n: TreeNode): Placed => {
    if (!n.children) return { x: x(0), y: top + step * (index.get(n.name!) ?? 0) + step / 2, node: n, children: [] };
    const kids = n.children.map(place);
    return { x: x(n.distance), y: (kids[0].y + kids[1].y) / 2, node: n, children: kids };
  };
  const root = place(props.tree);
  const paths: string[] = [];
  const leaves: Placed[] = [];
  // Bootstrapped trees: each inner node's split support, written at its merge.
  const supported: Placed[] = [];
  const walk = (p: Placed) => {
    if (p.children.length === 0) {
      leaves.push(p);
      return;
    }
    if (p.node.support !== undefined && p.node.size < props.leafOrder.length) supported.push(p);
    const [a, b] = p.children;
    paths.push(`M${p.x},${a.y}V${b.y}M${p.x},${a.y}H${a.x}M${p.x},${b.y}H${b.x}`);
    p.children.forEach(walk);
  };
  walk(root);
  const axisY = top + step * props.leafOrder.length + 6;
  return (
    <svg ref={props.svgRef} width={width} height={height} viewBox={`0 0 ${width} ${height}`} class="dendrogram" font-size="11">
      <path d={`M${root.x - 10},${root.y}H${root.x}`} stroke="#444" fill="none" />
      <path d={paths.join('')} stroke="#444" stroke-width="1.3" fill="none" />
      {supported.map((p) => (
        <text
          key={p.node.id}
          x={p.x - 3}
          y={p.y - 3}
          text-anchor="end"
          font-size="9"
          fill={p.node.support! >= 0.95 ? '#1b5e20' : '#b45309'}
          data-support={p.node.support}
        >
          {Math.round(100 * p.node.support!)}
          <title>{`split support ${(100 * p.node.support!).toFixed(1)} %: share of bootstrap draws whose tree has exactly this cluster`}</title>
        </text>
      ))}
      {leaves.map((l) => {
        const name = l.node.name!;
        return (
          <g key={name} data-leaf={name}>
            <circle cx={l.x + 6} cy={l.y} r={4.5} fill={colours.get(props.groups[name]) ?? '#888'} />
            <text x={l.x + 14} y={l.y} dominant-baseline="middle" fill="#222">
              {name}
            </text>
            <title>{`${name}${props.groups[name] !== undefined ? ` — ${props.groups[name]}` : ''}`}</title>
          </g>
        );
      })}
      <g>
        <path d={`M${left},${axisY}H${left + plotW}`} stroke="#888" />
        {x.ticks(5).map((t) => (
          <g key={t}>
            <path d={`M${x(t)},${axisY}v4`} stroke="#888" />
            <text x={x(t)} y={axisY + 15} text-anchor="middle" fill="#555">
              {t}
            </text>
          </g>
        ))}
        <text x={left + plotW / 2} y={axisY + 29} text-anchor="middle" fill="#555">
          merge height ({props.distanceLabel})
        </text>
      </g>
    </svg>
  );
}
