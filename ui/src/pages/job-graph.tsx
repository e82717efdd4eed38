import { navigate } from '../router';
import { shortId } from '../format';
import type { JobState } from '../types';

export interface GraphNode {
  id: string;
  state: JobState | null;
  label: string;
}

const W = 200;
const H = 40;
const GAP_X = 70;
const GAP_Y = 14;

/** The job between the jobs it waits for (left) and the jobs waiting for it (right); click a node to open it. */
export function DependencyGraph({ job, dependencies, dependents }: { job: GraphNode; dependencies: GraphNode[]; dependents: GraphNode[] }) {
  const rows = Math.max(dependencies.length, dependents.length, 1);
  const height = rows * (H + GAP_Y) - GAP_Y + 8;
  const width = 3 * W + 2 * GAP_X + 8;
  const y = (i: number, n: number) => 4 + ((rows - n) * (H + GAP_Y)) / 2 + i * (H + GAP_Y);
  const center = { x: 4 + W + GAP_X, y: y(0, 1) };
  const node = (n: GraphNode, x: number, yy: number, main = false) => (
    <g key={n.id + x} class={`node node-${n.state ?? 'gone'} ${main ? 'node-main' : ''}`} transform={`translate(${x},${yy})`} onClick={() => !main && navigate(`/jobs/${n.id}`)}>
      <title>{`${n.id} (${n.state ?? 'deleted'})`}</title>
      <rect width={W} height={H} rx={8} />
      <text x={12} y={17} class="node-label">
        {n.label.length > 22 ? `${n.label.slice(0, 21)}…` : n.label}
      </text>
      <text x={12} y={31} class="node-sub">
        {shortId(n.id)} · {n.state ?? 'deleted'}
      </text>
    </g>
  );
  const edge = (x1: number, y1: number, x2: number, y2: number, key: string) => (
    <path key={key} class="edge" d={`M${x1},${y1 + H / 2} C${x1 + GAP_X / 2},${y1 + H / 2} ${x2 - GAP_X / 2},${y2 + H / 2} ${x2},${y2 + H / 2}`} marker-end="url(#arrow)" />
  );
  return (
    <svg class="graph" viewBox={`0 0 ${width} ${height}`} width="100%" style={{ maxWidth: `${width}px` }} role="img" aria-label="dependency graph">
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
          <path d="M0,0 L10,5 L0,10 z" fill="#9ca3af" />
        </marker>
      </defs>
      {dependencies.map((d, i) => edge(4 + W, y(i, dependencies.length), center.x, center.y, `in-${d.id}`))}
      {dependents.map((d, i) => edge(center.x + W, center.y, center.x + W + GAP_X, y(i, dependents.length), `out-${d.id}`))}
      {dependencies.map((d, i) => node(d, 4, y(i, dependencies.length)))}
      {node(job, center.x, center.y, true)}
      {dependents.map((d, i) => node(d, center.x + W + GAP_X, y(i, dependents.length)))}
    </svg>
  );
}
