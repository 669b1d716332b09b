import { useState } from 'preact/hooks';
import { cancelJob } from '../api.js';
import type { Progress } from '../types.js';

/**
 * Progress of a background job, as streamed by the server. With the job's id it has a Cancel button
 * (DELETE /api/jobs/:id): the job then fails with "cancelled", which its caller shows as any other failure.
 */
export function ProgressBar(props: { progress: Progress | null; label: string; jobId?: string | null }) {
  const p = props.progress;
  const frac = p && p.total > 0 ? p.done / p.total : null;
  const [cancelling, setCancelling] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const id = props.jobId;
  return (
    <div class="progress" role="progressbar" aria-valuemin={0} aria-valuemax={1} aria-valuenow={frac ?? undefined}>
      <div class="bar">
        <div class={frac === null ? 'fill indeterminate' : 'fill'} style={frac === null ? undefined : { width: `${(100 * frac).toFixed(1)}%` }} />
      </div>
      <span>
        {props.label}
        {p ? ` — ${p.stage ?? ''} ${p.done}/${p.total}${p.label ? ` (${p.label})` : ''}` : ''}
      </span>
      {id && (
        <button
          type="button"
          class="small"
          data-action="cancel-job"
          data-job={id}
          disabled={cancelling === id}
          title="Stop this job on the server"
          onClick={() => {
            setCancelling(id);
            setError(null);
            cancelJob(id).catch((e: Error) => {
              setCancelling(null);
              setError(e.message);
            });
          }}
        >
          {cancelling === id ? 'Cancelling…' : 'Cancel'}
        </button>
      )}
      {error && <span class="error">{error}</span>}
    </div>
  );
}
