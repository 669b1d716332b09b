import type { Progress } from '../types.js';

/** Progress of a background job, as streamed by the server. */
export function ProgressBar(props: { progress: Progress | null; label: string }) {
  const p = props.progress;
  const frac = p && p.total > 0 ? p.done / p.total : null;
  return (
    <div class="progress" role="progressbar" aria-valuemin={0} aria-valuemax={1} aria-valuenow={frac ?? undefined}>
      <div class="bar">
        <div class={frac === null ? 'fill indeterminate' : 'fill'} style={frac === null ? undefined : { width: `${(100 * frac).toFixed(1)}%` }} />
      </div>
      <span>
        {props.label}
        {p ? ` — ${p.stage ?? ''} ${p.done}/${p.total}${p.label ? ` (${p.label})` : ''}` : ''}
      </span>
    </div>
  );
}
