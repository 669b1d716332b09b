import type { RefObject } from 'preact';
import type { ComponentChildren } from 'preact';
import { useRef } from 'preact/hooks';
import { svgText, svgToPng } from '../download.js';
import { Figure } from './Figure.js';

/** A figure drawn as SVG by the UI itself (D3 layouts): exported by serialising the element. */
export function SvgFigure(props: {
  title: string;
  id?: string;
  note?: ComponentChildren;
  children: (ref: RefObject<SVGSVGElement | null>) => ComponentChildren;
}) {
  const ref = useRef<SVGSVGElement>(null);
  const exporter = {
    svg: async () => svgText(ref.current!),
    png: async () => {
      const box = ref.current!.getBoundingClientRect();
      return svgToPng(svgText(ref.current!), box.width, box.height);
    },
  };
  return (
    <Figure title={props.title} exporter={exporter} id={props.id} note={props.note}>
      <div class="chart">{props.children(ref)}</div>
    </Figure>
  );
}
