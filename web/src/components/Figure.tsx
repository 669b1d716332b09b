import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { saveBlob, saveText, slug } from '../download.js';

export interface Exporter {
  svg(): Promise<string>;
  png(): Promise<Blob>;
}

/** A titled figure with SVG / PNG export buttons. */
export function Figure(props: { title: string; exporter: Exporter | null; children: ComponentChildren; note?: ComponentChildren; id?: string }) {
  const [error, setError] = useState<string | null>(null);
  const name = slug(props.id ?? props.title);
  const run = async (kind: 'svg' | 'png') => {
    if (!props.exporter) return;
    setError(null);
    try {
      if (kind === 'svg') saveText(await props.exporter.svg(), `${name}.svg`, 'image/svg+xml');
      else saveBlob(await props.exporter.png(), `${name}.png`);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <section class="figure" data-figure={name}>
      <header>
        <h3>{props.title}</h3>
        <span class="actions">
          <button type="button" class="small" data-export="svg" disabled={!props.exporter} onClick={() => run('svg')}>
            SVG
          </button>
          <button type="button" class="small" data-export="png" disabled={!props.exporter} onClick={() => run('png')}>
            PNG
          </button>
        </span>
      </header>
      {props.children}
      {props.note && <div class="note">{props.note}</div>}
      {error && <p class="error">{error}</p>}
    </section>
  );
}
