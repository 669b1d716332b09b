/**
 * Near-duplicate photographs: a DCT perceptual hash over a downscaled greyscale copy, and groups of photos whose
 * hashes differ in few bits. Image sets assembled from Debian packages hold consecutive video frames, the two views
 * of stereo pairs and re-encodings of one picture; a probe set or a train/test split that keeps both copies
 * measures the copy, not the task.
 *
 * The hash (the common "pHash"): the image as 32×32 greyscale (stretched, libvips area filter), its 2-D DCT-II,
 * the 8×8 lowest frequencies; bit (u, v) is set when coefficient (u, v) exceeds the median of the 63 AC
 * coefficients (the DC bit is always 0). Low frequencies survive rescaling, recompression, small shifts and mild
 * colour changes, which is what makes two encodings or two neighbouring frames land within a few bits.
 *
 * Threshold: on the 106 probe photographs (excluding the chessboard-calibration frames), two consecutive video
 * frames differ in 2 bits and a short-baseline stereo pair (scikit-image's motorcycle) in 8, while the closest two
 * unrelated photographs differ in 16 (a wide-baseline stereo pair, OpenCV's aloe, also lies at 18). The 156 pairs of
 * calibration frames from one camera (a person moving a chessboard in one room) lie between 4 and 26 bits (median
 * 16), so those frames are excluded by name, not by hash. NEAR_DUPLICATE_BITS = 10 sits between copies and
 * different pictures.
 */
import sharp from 'sharp';

/** Side of the greyscale thumbnail the DCT runs on. */
export const PHASH_SIDE = 32;
/** Low-frequency block kept (HASH_BLOCK² = 64 bits). */
const HASH_BLOCK = 8;
/** Hashes at most this many bits apart are near-duplicates. */
export const NEAR_DUPLICATE_BITS = 10;

let cosTable: Float64Array | undefined;

/** cos((2x + 1)uπ / 2N) for u < 8, x < N. */
function cosines(): Float64Array {
  if (!cosTable) {
    cosTable = new Float64Array(HASH_BLOCK * PHASH_SIDE);
    for (let u = 0; u < HASH_BLOCK; u++)
      for (let x = 0; x < PHASH_SIDE; x++) cosTable[u * PHASH_SIDE + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * PHASH_SIDE));
  }
  return cosTable;
}

/**
 * The 64-bit hash (16 hex digits, bit u·8 + v = frequency (u, v), most significant first) of a 32×32 greyscale
 * image given row-major. Pure: the same values give the same hash on any machine.
 */
export function perceptualHash(grey: ArrayLike<number>): string {
  const n = PHASH_SIDE;
  if (grey.length !== n * n) throw new Error(`perceptualHash needs a ${n}×${n} greyscale image (${n * n} values), got ${grey.length} values`);
  const c = cosines();
  // Separable DCT: rows first (8 frequencies per row), then columns.
  const rows = new Float64Array(n * HASH_BLOCK);
  for (let y = 0; y < n; y++)
    for (let v = 0; v < HASH_BLOCK; v++) {
      let s = 0;
      for (let x = 0; x < n; x++) s += grey[y * n + x] * c[v * n + x];
      rows[y * HASH_BLOCK + v] = s;
    }
  const coef = new Float64Array(HASH_BLOCK * HASH_BLOCK);
  for (let u = 0; u < HASH_BLOCK; u++)
    for (let v = 0; v < HASH_BLOCK; v++) {
      let s = 0;
      for (let y = 0; y < n; y++) s += rows[y * HASH_BLOCK + v] * c[u * n + y];
      coef[u * HASH_BLOCK + v] = s;
    }
  const ac = Array.from(coef.subarray(1)).sort((a, b) => a - b);
  const median = (ac[(ac.length - 1) >> 1] + ac[ac.length >> 1]) / 2;
  let hex = '';
  for (let nibble = 0; nibble < 16; nibble++) {
    let d = 0;
    for (let b = 0; b < 4; b++) {
      const i = nibble * 4 + b;
      d = (d << 1) | (i > 0 && coef[i] > median ? 1 : 0);
    }
    hex += d.toString(16);
  }
  return hex;
}

/** The hash of an encoded image (JPEG/PNG/WebP bytes or a path), oriented by EXIF as the pipeline reads it. */
export async function imagePerceptualHash(input: Uint8Array | string): Promise<string> {
  const { data, info } = await sharp(input)
    .rotate()
    .flatten({ background: { r: 0, g: 0, b: 0 } })
    .greyscale()
    .resize(PHASH_SIDE, PHASH_SIDE, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return perceptualHash(info.channels === 1 ? data : data.filter((_, i) => i % info.channels === 0));
}

const POPCOUNT4 = [0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4];

/** Number of differing bits between two hashes of perceptualHash. */
export function hashDistance(a: string, b: string): number {
  if (a.length !== b.length || !/^[0-9a-f]*$/.test(a) || !/^[0-9a-f]*$/.test(b))
    throw new Error(`hashDistance: "${a}" and "${b}" are not hashes of one length`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d += POPCOUNT4[parseInt(a[i], 16) ^ parseInt(b[i], 16)];
  return d;
}

export interface NearDuplicates {
  /** Ids kept, in the given order: the first of each group. */
  kept: string[];
  /** The others, each with the kept id of its group and its distance to the member that linked it. */
  dropped: { id: string; of: string; bits: number }[];
}

/**
 * Groups items whose hashes are within `maxBits` of each other (single linkage: a chain of close pairs is one
 * group) and keeps the first item of each group in the given order — so callers decide which copy survives by
 * ordering their list (the probe set: by file name).
 */
export function nearDuplicateGroups(items: { id: string; hash: string }[], maxBits = NEAR_DUPLICATE_BITS): NearDuplicates {
  const parent = items.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  const link = new Map<number, number>();
  for (let i = 0; i < items.length; i++)
    for (let j = i + 1; j < items.length; j++) {
      const bits = hashDistance(items[i].hash, items[j].hash);
      if (bits > maxBits) continue;
      const [ri, rj] = [find(i), find(j)];
      if (ri !== rj) parent[Math.max(ri, rj)] = Math.min(ri, rj);
      if (!link.has(j)) link.set(j, bits);
    }
  const kept: string[] = [];
  const dropped: NearDuplicates['dropped'] = [];
  items.forEach((it, i) => {
    const r = find(i);
    if (r === i) kept.push(it.id);
    else dropped.push({ id: it.id, of: items[r].id, bits: link.get(i) ?? 0 });
  });
  return { kept, dropped };
}
