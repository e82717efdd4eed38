import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  color: string;
  values: (number | null)[];
  /** Fill under the line (areas for counts). */
  fill?: boolean;
}

const hhmm = (_u: uPlot, splits: number[]) => splits.map((s) => new Date(s * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));

/**
 * A small time chart (uPlot, canvas): `times` in epoch seconds, one value per time per series.
 * `yMax`: a fixed top (a rate's 1); else the data's, at least a few units so a quiet queue reads as quiet.
 * `sqrt`: a square-root y scale, so one spike of 40k does not flatten the minutes of 20 (a log
 * scale cannot show the zeros of a quiet minute).
 */
export function TimeChart({ times, series, height = 140, yFormat, yMax, label, sqrt = false }: { times: number[]; series: Series[]; height?: number; yFormat?: (v: number) => string; yMax?: number; label: string; sqrt?: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.label).join('|');

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: el.clientWidth || 400,
      height,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: {
        x: { time: true },
        y: sqrt
          ? { distr: 100, fwd: (v: number) => Math.sqrt(Math.max(0, v)), bwd: (v: number) => v * v, range: (_u, _min, max) => [0, niceTop(Math.max(max, 1) * 1.1)] }
          : { range: (_u, _min, max) => [0, yMax ?? Math.ceil(Math.max(max, 4) * 1.15)] },
      },
      axes: [
        { stroke: '#6b7280', grid: { stroke: '#eef0f3', width: 1 }, ticks: { show: false }, font: '11px system-ui, sans-serif', space: 60, values: hhmm },
        {
          stroke: '#6b7280',
          grid: { stroke: '#eef0f3', width: 1 },
          ticks: { show: false },
          font: '11px system-ui, sans-serif',
          size: 44,
          ...(sqrt ? { splits: (u: uPlot) => sqrtSplits(u.scales.y!.max ?? 1) } : {}),
          ...(yFormat ? { values: (_u: uPlot, vals: (number | null)[]) => vals.map((v) => (v === null || v === undefined ? '' : yFormat(v))) } : {}),
        },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.75,
          ...(s.fill ? { fill: `${s.color}22` } : {}),
          // A lone minute with data has no neighbour to draw a line to: mark the minutes that have some.
          points: { show: true, size: 5, fill: s.color, filter: (u: uPlot, i: number) => marked(u.data[i] as (number | null)[], s.fill === true) },
          spanGaps: false,
          ...(yFormat ? { value: (_u: uPlot, v: number | null) => (v === null ? '—' : yFormat(v)) } : {}),
        })),
      ],
    };
    plot.current = new uPlot(opts, [times, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // Rebuilt only when the series change shape; new data goes through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, height]);

  useEffect(() => {
    plot.current?.setData([times, ...series.map((s) => s.values)] as uPlot.AlignedData);
  });

  return <div class="chart" ref={box} role="img" aria-label={label} />;
}

/** 1, 2 or 5 times a power of ten, at or above `v`. */
function niceTop(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

/** Ticks spread evenly on a square-root scale: 0, top/16, top/4, 9·top/16, top (rounded to 2 digits). */
function sqrtSplits(top: number): number[] {
  const round = (v: number) => (v === 0 ? 0 : Number(v.toPrecision(2)));
  return [...new Set([0, top / 16, top / 4, (top * 9) / 16, top].map(round))];
}

/** Indices of the values worth a point: non-null, and for counts (`nonZero`) above zero. */
function marked(values: (number | null)[], nonZero: boolean): number[] {
  const out: number[] = [];
  values.forEach((v, i) => {
    if (v !== null && v !== undefined && (!nonZero || v > 0)) out.push(i);
  });
  return out;
}
