import { useState } from 'preact/hooks';
import { ApiError, upload } from '../api.js';
import type { UploadResponse } from '../types.js';

/**
 * File upload into the server's upload root; the saved paths are handed back so the caller can select them.
 * `kind: 'labels'` sends a labels file (.csv / .txt), which the server checks as such rather than as a matrix.
 */
export function Upload(props: { label: string; accept: string; multiple?: boolean; onUploaded: (r: UploadResponse) => void; name?: string; kind?: 'labels' }) {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);
  return (
    <label class="upload">
      <span>{props.label}</span>
      <input
        type="file"
        accept={props.accept}
        multiple={props.multiple}
        disabled={busy}
        data-upload={props.name ?? 'file'}
        onChange={async (e) => {
          // Kept before the await: currentTarget is null once the event has finished dispatching.
          const input = e.currentTarget;
          const files = input.files;
          if (!files || files.length === 0) return;
          setBusy(true);
          setMessage(null);
          try {
            const r = await upload<UploadResponse>(files, undefined, props.kind);
            setMessage({ text: `saved ${r.saved.map((s) => s.path).join(', ')}`, error: false });
            props.onUploaded(r);
          } catch (err) {
            setMessage({ text: err instanceof ApiError ? err.message : String(err), error: true });
          } finally {
            setBusy(false);
            input.value = '';
          }
        }}
      />
      {message && <small class={message.error ? 'error' : 'ok'}>{message.text}</small>}
    </label>
  );
}
