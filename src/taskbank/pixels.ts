/**
 * Pixel operations behind the task bank's target builders: colour conversion, Gaussian smoothing, Sobel gradients,
 * the Harris corner response, 2× box down-sampling, 90° rotations, tile shuffles, colour-and-position superpixels
 * and area resampling. All are pure functions over row-major arrays (an image of side `size` with `c` channels is
 * `size·size·c` values, channels last, values in [0, 1]); maps are computed in float64.
 *
 * Borders repeat the edge pixel (scipy.ndimage's mode 'nearest'), and the Gaussian kernel is scipy's: radius
 * ⌊4σ + 0.5⌋, weights exp(−x²/2σ²) normalised to sum 1 — so scipy.ndimage.gaussian_filter and sobel are an
 * independent reference (test/reference/taskbank_reference.py).
 */

/** JFIF / BT.601 luma weights of the YCbCr transform (the colourisation task's grey input is this Y). */
export const LUMA = [0.299, 0.587, 0.114] as const;

/** uint8 pixels → floats in [0, 1]. */
export function toUnit(pixels: Uint8Array): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i] / 255;
  return out;
}

function checkImage(img: ArrayLike<number>, size: number, c: number, what: string): void {
  if (!Number.isInteger(size) || size < 1) throw new Error(`${what}: image side must be a positive integer, got ${size}`);
  if (img.length !== size * size * c) throw new Error(`${what}: ${img.length} values for a ${size}×${size}×${c} image (expected ${size * size * c})`);
}

/** Luma Y = 0.299 R + 0.587 G + 0.114 B of an RGB image. */
export function luminance(rgb: ArrayLike<number>, size: number): Float64Array {
  checkImage(rgb, size, 3, 'luminance');
  const y = new Float64Array(size * size);
  for (let i = 0; i < y.length; i++) y[i] = LUMA[0] * rgb[3 * i] + LUMA[1] * rgb[3 * i + 1] + LUMA[2] * rgb[3 * i + 2];
  return y;
}

/**
 * Full-range YCbCr (JFIF) on [0, 1] values: Cb = 0.5 + (B − Y)/1.772, Cr = 0.5 + (R − Y)/1.402. Grey pixels have
 * Cb = Cr = 0.5; the transform is invertible (fromYCbCr).
 */
export function toYCbCr(rgb: ArrayLike<number>, size: number): { y: Float64Array; cb: Float64Array; cr: Float64Array } {
  const y = luminance(rgb, size);
  const cb = new Float64Array(y.length);
  const cr = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) {
    cb[i] = 0.5 + (rgb[3 * i + 2] - y[i]) / (2 * (1 - LUMA[2]));
    cr[i] = 0.5 + (rgb[3 * i] - y[i]) / (2 * (1 - LUMA[0]));
  }
  return { y, cb, cr };
}

/** The RGB image of Y, Cb, Cr planes (inverse of toYCbCr). */
export function fromYCbCr(y: ArrayLike<number>, cb: ArrayLike<number>, cr: ArrayLike<number>): Float64Array {
  const rgb = new Float64Array(3 * y.length);
  for (let i = 0; i < y.length; i++) {
    const r = y[i] + 2 * (1 - LUMA[0]) * (cr[i] - 0.5);
    const b = y[i] + 2 * (1 - LUMA[2]) * (cb[i] - 0.5);
    rgb[3 * i] = r;
    rgb[3 * i + 1] = (y[i] - LUMA[0] * r - LUMA[2] * b) / LUMA[1];
    rgb[3 * i + 2] = b;
  }
  return rgb;
}

/** scipy's Gaussian kernel: radius ⌊4σ + 0.5⌋, normalised. */
export function gaussianKernel(sigma: number): Float64Array {
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new Error(`Gaussian σ must be a positive number, got ${sigma}`);
  const r = Math.floor(4 * sigma + 0.5);
  const k = new Float64Array(2 * r + 1);
  let s = 0;
  for (let x = -r; x <= r; x++) s += k[x + r] = Math.exp((-x * x) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= s;
  return k;
}

const clampIndex = (i: number, n: number) => (i < 0 ? 0 : i >= n ? n - 1 : i);

/** Correlate each row (axis 1) or column (axis 0) of a size×size map with `w` (centred), edges repeated. */
function correlate1d(map: ArrayLike<number>, size: number, w: ArrayLike<number>, axis: 0 | 1): Float64Array {
  const out = new Float64Array(size * size);
  const r = (w.length - 1) / 2;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      let s = 0;
      for (let t = -r; t <= r; t++) s += w[t + r] * (axis === 1 ? map[y * size + clampIndex(x + t, size)] : map[clampIndex(y + t, size) * size + x]);
      out[y * size + x] = s;
    }
  return out;
}

/** Separable Gaussian smoothing of a size×size map (σ = 0: a copy). */
export function gaussianBlur(map: ArrayLike<number>, size: number, sigma: number): Float64Array {
  checkImage(map, size, 1, 'gaussianBlur');
  if (sigma === 0) return Float64Array.from(map);
  const k = gaussianKernel(sigma);
  return correlate1d(correlate1d(map, size, k, 0), size, k, 1);
}

/**
 * Sobel derivatives: gx = [−1 0 1] along x ⊗ [1 2 1] along y (x grows to the right, y downwards), gy likewise
 * transposed — scipy.ndimage.sobel(axis=1) and (axis=0). A unit step gives |g| = 4 on both sides of it.
 */
export function sobel(map: ArrayLike<number>, size: number): { gx: Float64Array; gy: Float64Array } {
  checkImage(map, size, 1, 'sobel');
  const d = [-1, 0, 1];
  const s = [1, 2, 1];
  return { gx: correlate1d(correlate1d(map, size, d, 1), size, s, 0), gy: correlate1d(correlate1d(map, size, d, 0), size, s, 1) };
}

/** Largest Sobel magnitude of an image with values in [0, 1] (|gx|, |gy| ≤ 4): edge maps are divided by it. */
export const SOBEL_MAX = 4 * Math.SQRT2;

/** Gradient magnitude of the σ-smoothed map, divided by SOBEL_MAX (so in [0, 1] for values in [0, 1]). */
export function edgeMagnitude(map: ArrayLike<number>, size: number, sigma: number): Float64Array {
  const { gx, gy } = sobel(gaussianBlur(map, size, sigma), size);
  const out = new Float64Array(size * size);
  for (let i = 0; i < out.length; i++) out[i] = Math.hypot(gx[i], gy[i]) / SOBEL_MAX;
  return out;
}

export interface HarrisOptions {
  /** Smoothing before differentiation (default 1). */
  sigmaD?: number;
  /** Integration scale of the structure tensor (default 1.5). */
  sigmaI?: number;
  /** Harris k (default 0.04). */
  k?: number;
}

/**
 * The Harris corner response R = det M − k (tr M)², M = G_σI ∗ [Ix², IxIy; IxIy, Iy²], with Ix, Iy the Sobel
 * derivatives of the σD-smoothed map divided by 8 (unit-gain derivatives). Positive at corners, negative along
 * edges, zero on flat regions.
 */
export function harrisResponse(map: ArrayLike<number>, size: number, opts: HarrisOptions = {}): Float64Array {
  const { sigmaD = 1, sigmaI = 1.5, k = 0.04 } = opts;
  const { gx, gy } = sobel(gaussianBlur(map, size, sigmaD), size);
  const n = size * size;
  const xx = new Float64Array(n);
  const yy = new Float64Array(n);
  const xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ix = gx[i] / 8;
    const iy = gy[i] / 8;
    xx[i] = ix * ix;
    yy[i] = iy * iy;
    xy[i] = ix * iy;
  }
  const [a, b, c] = [gaussianBlur(xx, size, sigmaI), gaussianBlur(yy, size, sigmaI), gaussianBlur(xy, size, sigmaI)];
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) r[i] = a[i] * b[i] - c[i] * c[i] - k * (a[i] + b[i]) ** 2;
  return r;
}

/** 2× down-sampling by 2×2 block means (side must be even). */
export function boxDownsample2(img: ArrayLike<number>, size: number, c: number): Float64Array {
  checkImage(img, size, c, 'boxDownsample2');
  if (size % 2) throw new Error(`boxDownsample2: the side must be even, got ${size}`);
  const h = size / 2;
  const out = new Float64Array(h * h * c);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < h; x++)
      for (let k = 0; k < c; k++) {
        const at = (yy: number, xx: number) => img[(yy * size + xx) * c + k];
        out[(y * h + x) * c + k] = (at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1)) / 4;
      }
  return out;
}

/** 2× up-sampling by pixel replication (each pixel becomes a 2×2 block). */
export function upsampleNearest2(img: ArrayLike<number>, size: number, c: number): Float64Array {
  checkImage(img, size, c, 'upsampleNearest2');
  const s = 2 * size;
  const out = new Float64Array(s * s * c);
  for (let y = 0; y < s; y++) for (let x = 0; x < s; x++) for (let k = 0; k < c; k++) out[(y * s + x) * c + k] = img[((y >> 1) * size + (x >> 1)) * c + k];
  return out;
}

/** The image rotated by 90° counter-clockwise `turns` times (numpy rot90 on the first two axes). */
export function rotate90(img: ArrayLike<number>, size: number, c: number, turns: number): Float64Array {
  checkImage(img, size, c, 'rotate90');
  const t = ((turns % 4) + 4) % 4;
  const out = new Float64Array(img.length);
  const n = size - 1;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      // Source pixel of output (y, x) for a counter-clockwise rotation by t quarter turns.
      const [sy, sx] = t === 0 ? [y, x] : t === 1 ? [x, n - y] : t === 2 ? [n - y, n - x] : [n - x, y];
      for (let k = 0; k < c; k++) out[(y * size + x) * c + k] = img[(sy * size + sx) * c + k];
    }
  return out;
}

/**
 * Rearranges the g×g tiles of side ⌊size/g⌋ (from the top-left corner; a remainder strip at the right and bottom
 * stays in place): output tile i (row-major) is input tile perm[i].
 */
export function permuteTiles(img: ArrayLike<number>, size: number, c: number, perm: ArrayLike<number>, g = 3): Float64Array {
  checkImage(img, size, c, 'permuteTiles');
  if (perm.length !== g * g || new Set(Array.from(perm)).size !== g * g || Array.from(perm).some((p) => !(p >= 0 && p < g * g && Number.isInteger(p))))
    throw new Error(`permuteTiles: [${Array.from(perm).join(', ')}] is not a permutation of 0…${g * g - 1}`);
  const t = Math.floor(size / g);
  if (t < 1) throw new Error(`permuteTiles: a ${size}-pixel image has no room for ${g}×${g} tiles`);
  const out = Float64Array.from(img);
  for (let i = 0; i < g * g; i++) {
    const [oy, ox] = [Math.floor(i / g) * t, (i % g) * t];
    const [iy, ix] = [Math.floor(perm[i] / g) * t, (perm[i] % g) * t];
    for (let y = 0; y < t; y++)
      for (let x = 0; x < t; x++) for (let k = 0; k < c; k++) out[((oy + y) * size + ox + x) * c + k] = img[((iy + y) * size + ix + x) * c + k];
  }
  return out;
}

export interface SuperpixelOptions {
  /** Segments on a √k × √k grid of seeds (k must be a square; default 9). */
  k?: number;
  /** Weight of the position (x/size, y/size) against the RGB colour in the distance (default 0.5). */
  spatial?: number;
  /** Lloyd iterations (default 10). */
  iterations?: number;
}

/**
 * SLIC-like superpixels: k-means on (R, G, B, w·x/size, w·y/size) from seeds at the centres of a √k × √k grid,
 * every pixel compared with every centre (no SLIC window), a fixed number of Lloyd steps, ties to the lower centre;
 * an emptied centre keeps its place. Labels are renumbered by first appearance in raster order, so equal
 * partitions give equal label maps. Deterministic: no random seeding.
 */
export function superpixels(rgb: ArrayLike<number>, size: number, opts: SuperpixelOptions = {}): Int32Array {
  checkImage(rgb, size, 3, 'superpixels');
  const { k = 9, spatial = 0.5, iterations = 10 } = opts;
  const g = Math.round(Math.sqrt(k));
  if (g * g !== k || k < 1) throw new Error(`superpixels: k must be a square number (4, 9, 16, …), got ${k}`);
  const n = size * size;
  const feat = new Float64Array(n * 5);
  for (let i = 0; i < n; i++) {
    feat.set([rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], (spatial * (i % size)) / size, (spatial * Math.floor(i / size)) / size], 5 * i);
  }
  const centres = new Float64Array(k * 5);
  for (let j = 0; j < k; j++) {
    const cy = Math.min(size - 1, Math.floor(((Math.floor(j / g) + 0.5) * size) / g));
    const cx = Math.min(size - 1, Math.floor((((j % g) + 0.5) * size) / g));
    centres.set(feat.subarray(5 * (cy * size + cx), 5 * (cy * size + cx) + 5), 5 * j);
  }
  const label = new Int32Array(n);
  for (let it = 0; it <= iterations; it++) {
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestD = Infinity;
      for (let j = 0; j < k; j++) {
        let d = 0;
        for (let f = 0; f < 5; f++) d += (feat[5 * i + f] - centres[5 * j + f]) ** 2;
        if (d < bestD) {
          bestD = d;
          best = j;
        }
      }
      label[i] = best;
    }
    if (it === iterations) break;
    const sum = new Float64Array(k * 5);
    const count = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      count[label[i]]++;
      for (let f = 0; f < 5; f++) sum[5 * label[i] + f] += feat[5 * i + f];
    }
    for (let j = 0; j < k; j++) if (count[j] > 0) for (let f = 0; f < 5; f++) centres[5 * j + f] = sum[5 * j + f] / count[j];
  }
  const rename = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    if (!rename.has(label[i])) rename.set(label[i], rename.size);
    label[i] = rename.get(label[i])!;
  }
  return label;
}

/**
 * Area resampling of an sw×sh×c image to dw×dh: each output pixel is the mean of the input over its footprint,
 * partial pixels weighted by the covered fraction (cv2's INTER_AREA for down-sampling).
 */
export function resizeArea(src: ArrayLike<number>, sw: number, sh: number, c: number, dw: number, dh: number): Float64Array {
  if (src.length !== sw * sh * c) throw new Error(`resizeArea: ${src.length} values for ${sw}×${sh}×${c}`);
  if (!(dw >= 1 && dh >= 1 && Number.isInteger(dw) && Number.isInteger(dh))) throw new Error(`resizeArea: bad output size ${dw}×${dh}`);
  // Per output index: the first input index it covers and the covered fraction of each input index from there.
  const footprints = (from: number, to: number) => {
    const scale = from / to;
    const start = new Int32Array(to);
    const len = new Int32Array(to);
    const w: number[] = [];
    const at = new Int32Array(to);
    for (let o = 0; o < to; o++) {
      const a = o * scale;
      const b = (o + 1) * scale;
      start[o] = Math.floor(a);
      at[o] = w.length;
      for (let p = start[o]; p < Math.min(from, Math.ceil(b)); p++) w.push((Math.min(b, p + 1) - Math.max(a, p)) / scale);
      len[o] = w.length - at[o];
    }
    return { start, len, at, w: Float64Array.from(w) };
  };
  const fx = footprints(sw, dw);
  const fy = footprints(sh, dh);
  // Rows first (horizontal pass into a sh × dw × c buffer), then columns.
  const mid = new Float64Array(sh * dw * c);
  for (let y = 0; y < sh; y++)
    for (let x = 0; x < dw; x++)
      for (let t = 0; t < fx.len[x]; t++) {
        const wt = fx.w[fx.at[x] + t];
        const s0 = (y * sw + fx.start[x] + t) * c;
        const d0 = (y * dw + x) * c;
        for (let k = 0; k < c; k++) mid[d0 + k] += wt * src[s0 + k];
      }
  const out = new Float64Array(dw * dh * c);
  for (let y = 0; y < dh; y++)
    for (let t = 0; t < fy.len[y]; t++) {
      const wt = fy.w[fy.at[y] + t];
      const s0 = (fy.start[y] + t) * dw * c;
      const d0 = y * dw * c;
      for (let i = 0; i < dw * c; i++) out[d0 + i] += wt * mid[s0 + i];
    }
  return out;
}
