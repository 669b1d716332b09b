import type { CatalogueEntry, InputKind, MeasureFamily, MeasureInfo, ParamSpec } from '../types.js';

/** What the form needs of a family: the catalogue's record (or the registry's) as one shape. */
export type FormFamily = Pick<MeasureFamily, 'name' | 'description' | 'params'> & { id: string };

/**
 * The families a form offers: the served catalogue's entries of the input kinds the form can supply (a feature
 * set supplies `representations`; Fisher task measures take labelled-task folders and are left out there).
 */
export function formFamilies(catalogue: CatalogueEntry[], inputs: InputKind[]): FormFamily[] {
  return catalogue.filter((e) => inputs.includes(e.input)).map((e) => ({ id: e.family, name: e.name, description: e.description, params: e.params }));
}

export interface MeasureState {
  family: string;
  params: Record<string, string | boolean>;
}

function defaults(f: FormFamily): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const p of f.params) out[p.name] = p.type === 'flag' ? Boolean(p.default) : p.default === undefined ? '' : String(p.default);
  return out;
}

export function initialMeasure(families: FormFamily[], family: string | undefined = families[0]?.id): MeasureState {
  const f = families.find((x) => x.id === family) ?? families[0];
  return { family: f.id, params: defaults(f) };
}

/** The measure id the form describes (`family[:k=v,flag]`), parameters at their registry default left out. */
export function measureIdOf(families: FormFamily[], s: MeasureState): string {
  const f = families.find((x) => x.id === s.family);
  if (!f) return s.family;
  const parts: string[] = [];
  for (const p of f.params) {
    const v = s.params[p.name];
    if (p.type === 'flag') {
      if (v === true && p.default !== true) parts.push(p.name);
      else if (v === false && p.default === true) parts.push(`${p.name}=false`);
    } else if (typeof v === 'string' && v.trim() !== '' && v.trim() !== String(p.default ?? '')) parts.push(`${p.name}=${v.trim()}`);
  }
  return parts.length ? `${f.id}:${parts.join(',')}` : f.id;
}

/** Form state of a registered setting (from its parsed config). */
export function stateOf(families: FormFamily[], info: MeasureInfo): MeasureState {
  const f = families.find((x) => x.id === info.family)!;
  const params = defaults(f);
  const config = info.config as unknown as Record<string, unknown>;
  for (const p of f.params) {
    const v = config[p.name];
    if (v === undefined) continue;
    params[p.name] = p.type === 'flag' ? Boolean(v) : Array.isArray(v) ? v.join('x') : String(v);
  }
  return { family: f.id, params };
}

function ParamInput(props: { spec: ParamSpec; value: string | boolean; onChange: (v: string | boolean) => void; name: string }) {
  const { spec } = props;
  const id = `${props.name}-${spec.name}`;
  let input;
  if (spec.type === 'enum') {
    input = (
      <select id={id} data-param={spec.name} value={String(props.value)} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {spec.values!.map((v) => (
          <option key={v} value={v}>
            {v}
          </option>
        ))}
      </select>
    );
  } else if (spec.type === 'flag') {
    input = <input id={id} data-param={spec.name} type="checkbox" checked={props.value === true} onChange={(e) => props.onChange(e.currentTarget.checked)} />;
  } else if (spec.type === 'number') {
    input = (
      <input id={id} data-param={spec.name} type="number" step="any" value={String(props.value)} onInput={(e) => props.onChange(e.currentTarget.value)} />
    );
  } else {
    input = (
      <input
        id={id}
        data-param={spec.name}
        type="text"
        placeholder="H x W x C (stored shape)"
        value={String(props.value)}
        onInput={(e) => props.onChange(e.currentTarget.value)}
      />
    );
  }
  return (
    <label for={id} title={spec.description}>
      <span>{spec.name}</span>
      {input}
    </label>
  );
}

/** Measure family and parameters, generated from the registry's parameter specs. */
export function MeasureForm(props: {
  name: string;
  families: FormFamily[];
  standard: MeasureInfo[];
  value: MeasureState;
  onChange: (s: MeasureState) => void;
}) {
  const f = props.families.find((x) => x.id === props.value.family) ?? props.families[0];
  const id = measureIdOf(props.families, props.value);
  return (
    <fieldset class="measure-form" data-measure-form={props.name}>
      <legend>{props.name}</legend>
      <label>
        <span>preset</span>
        <select
          data-preset
          value=""
          onChange={(e) => {
            const info = props.standard.find((m) => m.id === e.currentTarget.value);
            if (info) props.onChange(stateOf(props.families, info));
          }}
        >
          <option value="">registered settings…</option>
          {props.standard.map((m) => (
            <option key={m.id} value={m.id}>
              {m.id}
            </option>
          ))}
        </select>
      </label>
      <label title={f.description}>
        <span>family</span>
        <select data-param="family" value={f.id} onChange={(e) => props.onChange(initialMeasure(props.families, e.currentTarget.value))}>
          {props.families.map((x) => (
            <option key={x.id} value={x.id}>
              {x.id} — {x.name}
            </option>
          ))}
        </select>
      </label>
      {f.params.map((p) => (
        <ParamInput
          key={p.name}
          name={props.name}
          spec={p}
          value={props.value.params[p.name] ?? ''}
          onChange={(v) => props.onChange({ ...props.value, params: { ...props.value.params, [p.name]: v } })}
        />
      ))}
      <p class="measure-id">
        id: <code>{id}</code>
      </p>
    </fieldset>
  );
}
