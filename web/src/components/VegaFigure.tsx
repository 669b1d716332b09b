import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import embed from 'vega-embed';
import { expressionInterpreter } from 'vega-interpreter';
import type { TopLevelSpec } from 'vega-lite';
import { Figure, type Exporter } from './Figure.js';

type View = Awaited<ReturnType<typeof embed>>['view'];

/**
 * A Vega-Lite chart with hover tooltips and SVG/PNG export through its View. Expressions run in
 * vega-interpreter, so the page needs no 'unsafe-eval' in its Content-Security-Policy. SVG rendering keeps
 * marks in the DOM (inspectable, testable); very large charts switch to canvas.
 */
export function VegaFigure(props: { title: string; spec: TopLevelSpec; id?: string; note?: ComponentChildren; canvas?: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const [view, setView] = useState<View | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let current: View | null = null;
    let cancelled = false;
    setError(null);
    embed(box.current!, props.spec, {
      actions: false,
      renderer: props.canvas ? 'canvas' : 'svg',
      ast: true,
      expr: expressionInterpreter,
      tooltip: { theme: 'light' },
    }).then(
      (r) => {
        if (cancelled) return r.finalize();
        current = r.view;
        setView(r.view);
      },
      (e: Error) => setError(e.message),
    );
    return () => {
      cancelled = true;
      current?.finalize();
    };
  }, [props.spec, props.canvas]);
  const exporter: Exporter | null = view && {
    svg: () => view.toSVG(),
    // Through a canvas, not toImageURL + fetch: the page's CSP (connect-src 'self') does not allow fetching data: URLs.
    png: async () => {
      const canvas = (await view.toCanvas(2)) as unknown as HTMLCanvasElement;
      return new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'));
    },
  };
  return (
    <Figure title={props.title} exporter={exporter} id={props.id} note={props.note}>
      <div class="chart" ref={box} />
      {error && <p class="error">{error}</p>}
    </Figure>
  );
}
