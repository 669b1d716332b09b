/**
 * Choosing intermediate tensors: a tap is a layer name or a glob pattern (`*` any run of characters including
 * `/`, `?` one character), optionally with its own reduction after `@` (e.g. `conv_pw_13_relu/Relu@gap`).
 * Unknown names fail with the closest layer names (the same matcher as unknown labels elsewhere in the CLI),
 * since real graph names are long and easy to mistype.
 */
import { closeMatches } from '../util/names.js';
import { formatReduction, parseReduction } from './reduce.js';
import type { LayerInfo, Reduction } from './types.js';

export interface TapRequest {
  /** Name or glob pattern as given. */
  pattern: string;
  /** Reduction for this tap; undefined = the command's --reduce (or the zoo default). */
  reduction?: Reduction;
}

export interface ResolvedTap {
  layer: string;
  reduction: Reduction;
  /** The name or pattern that selected it. */
  request: string;
}

export function parseTap(text: string): TapRequest {
  const at = text.lastIndexOf('@');
  if (at > 0) {
    const tail = text.slice(at + 1);
    // Only split when the tail is a reduction, so names containing '@' still work.
    try {
      return { pattern: text.slice(0, at), reduction: parseReduction(tail) };
    } catch {
      /* not a reduction: the '@' is part of the name */
    }
  }
  return { pattern: text };
}

export function isGlob(pattern: string): boolean {
  return /[*?]/.test(pattern);
}

export function globToRegExp(pattern: string): RegExp {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`);
}

function suggest(name: string, names: string[]): string {
  const near = closeMatches(name, names);
  const list = `list all ${names.length} with \`taskmap layers <model>\``;
  return near.length ? `; did you mean ${near.map((n) => `"${n}"`).join(', ')}? (${list})` : ` (${list})`;
}

/**
 * Resolve requests to concrete layers (patterns expand in layer order; duplicates are dropped). `what` names the
 * model in errors.
 */
export function resolveTaps(requests: TapRequest[], layers: LayerInfo[], fallback: Reduction, what: string): ResolvedTap[] {
  const names = layers.map((l) => l.name);
  const known = new Set(names);
  const out: ResolvedTap[] = [];
  const seen = new Set<string>();
  const add = (layer: string, r: Reduction, request: string) => {
    const key = `${layer}@${formatReduction(r)}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ layer, reduction: r, request });
    }
  };
  for (const req of requests) {
    const reduction = req.reduction ?? fallback;
    if (isGlob(req.pattern)) {
      const re = globToRegExp(req.pattern);
      const hits = names.filter((n) => re.test(n));
      if (hits.length === 0) {
        throw new Error(`${what}: tap pattern "${req.pattern}" matches no layer${suggest(req.pattern.replace(/[*?]/g, ''), names)}`);
      }
      for (const h of hits) add(h, reduction, req.pattern);
    } else if (known.has(req.pattern)) {
      add(req.pattern, reduction, req.pattern);
    } else {
      throw new Error(`${what}: unknown layer "${req.pattern}"${suggest(req.pattern, names)}`);
    }
  }
  return out;
}
