/** Tiny synthetic image classification data for the NSL tests (no Fashion-MNIST needed). */
import { mulberry32 } from '../../src/linalg/resample.js';
import type { ImageDataset } from '../../src/nsl/data.js';

/**
 * `perClass` noisy copies of one random prototype per class (8×8×1 by default, values 0–255). The prototypes
 * depend only on `prototypeSeed` and the class id, so two data sets with the same classes and different
 * `sampleSeed`s are samples of the same task.
 */
export function prototypeImages(
  classes: number[],
  perClass: number,
  opts: { size?: number; noise?: number; prototypeSeed?: number; sampleSeed?: number } = {},
): ImageDataset {
  const size = opts.size ?? 8;
  const noise = opts.noise ?? 60;
  const pixels = size * size;
  const prototypes = classes.map((c) => {
    const u = mulberry32((opts.prototypeSeed ?? 1) * 1000 + c);
    return Float64Array.from({ length: pixels }, () => (u() < 0.5 ? 40 : 215));
  });
  const u = mulberry32(opts.sampleSeed ?? 7);
  const n = classes.length * perClass;
  const images = new Uint8Array(n * pixels);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % classes.length;
    labels[i] = k;
    for (let p = 0; p < pixels; p++) images[i * pixels + p] = Math.max(0, Math.min(255, Math.round(prototypes[k][p] + noise * (u() + u() + u() - 1.5))));
  }
  return { images, labels, n, height: size, width: size, channels: 1, numClasses: classes.length, classNames: classes.map((c) => `c${c}`) };
}
