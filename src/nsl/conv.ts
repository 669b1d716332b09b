/**
 * Trainable convolutions on the TF.js WASM backend.
 *
 * tfjs-backend-wasm 4.22 has no `Conv2DBackpropFilter` kernel (DEPENDENCIES §3.3), so `tf.conv2d` cannot train its
 * filter there. `conv2d` below is a stride-1 convolution whose gradient is written with forward convolutions only:
 *   - input gradient: a convolution of the (re-padded) output gradient with the spatially flipped, in/out-swapped
 *     filter;
 *   - filter gradient: the im2col product Σ_p patch(p)ᵀ · dy(p), computed as one VALID convolution in which the
 *     padded input, transposed to [C_in, H, W, B], is the "image" and the output gradient, transposed to
 *     [H_out, W_out, B, C_out], is the "filter". That contracts over exactly the batch × position sum of the
 *     im2col product.
 * Measured on this backend (B = 64, 28×28, 16 → 16 channels, one thread): forward + both gradients ≈ 40 ms, against
 * ≈ 230 ms for the explicit im2col (pad, nine shifted slices, concat on channels, matMul) that DEPENDENCIES §3.3
 * suggests; the slices and channel concat are the slow part there. `unfold3x3` keeps the explicit im2col as the
 * reference the tests check this primitive against.
 */
import * as tf from '@tensorflow/tfjs';
import type { CustomGradientFunc } from '@tensorflow/tfjs-core/dist/engine.js';

export type Padding = 'same' | 'valid';

function paddingOf(k: number, padding: Padding): number {
  if (padding === 'valid') return 0;
  if (k % 2 !== 1) throw new Error(`SAME padding needs an odd kernel size, got ${k}`);
  return (k - 1) / 2;
}

function padSpatial(x: tf.Tensor4D, p: number): tf.Tensor4D {
  return p === 0
    ? x
    : tf.pad(x, [
        [0, 0],
        [p, p],
        [p, p],
        [0, 0],
      ]);
}

/** ∂L/∂x of y = conv(x, w): a full correlation of dy with the flipped filter, cropped back by the forward padding. */
function inputGradient(dy: tf.Tensor4D, w: tf.Tensor4D, pad: number): tf.Tensor4D {
  const [kh, kw] = w.shape;
  if (kh !== kw) throw new Error('square kernels only');
  const flipped = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
  return tf.conv2d(padSpatial(dy, kh - 1 - pad), flipped, 1, 'valid');
}

/** ∂L/∂w of y = conv(x, w), as a VALID convolution contracting over batch and output positions (see above). */
function filterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, pad: number): tf.Tensor4D {
  const image = tf.transpose(padSpatial(x, pad), [3, 1, 2, 0]) as tf.Tensor4D; // [C_in, H+2p, W+2p, B]
  const filter = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [H_out, W_out, B, C_out]
  const g = tf.conv2d(image, filter, 1, 'valid'); // [C_in, k, k, C_out]
  return tf.transpose(g, [1, 2, 0, 3]) as tf.Tensor4D;
}

const convSame = tf.customGrad(((x: tf.Tensor4D, w: tf.Tensor4D, save: tf.GradSaveFunc) => {
  save([x, w]);
  const pad = paddingOf(w.shape[0], 'same');
  return {
    value: tf.conv2d(x, w, 1, 'same'),
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [sx, sw] = saved as [tf.Tensor4D, tf.Tensor4D];
      return [inputGradient(dy, sw, pad), filterGradient(sx, dy, pad)];
    },
  };
}) as unknown as CustomGradientFunc<tf.Tensor4D>) as (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;

const convValid = tf.customGrad(((x: tf.Tensor4D, w: tf.Tensor4D, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.conv2d(x, w, 1, 'valid'),
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [sx, sw] = saved as [tf.Tensor4D, tf.Tensor4D];
      return [inputGradient(dy, sw, 0), filterGradient(sx, dy, 0)];
    },
  };
}) as unknown as CustomGradientFunc<tf.Tensor4D>) as (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;

/**
 * Stride-1, no-bias 2-d convolution, NHWC input, filter [k, k, C_in, C_out], trainable in both arguments on every
 * backend. SAME padding needs an odd k (the only case the network uses: 3×3 layers, 1×1 dynamic-UNS
 * projections; the score layer is VALID).
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, padding: Padding = 'same'): tf.Tensor4D {
  if (w.shape[2] !== x.shape[3]) throw new Error(`conv2d: input has ${x.shape[3]} channels, filter expects ${w.shape[2]}`);
  paddingOf(w.shape[0], padding);
  return padding === 'same' ? convSame(x, w) : convValid(x, w);
}

/**
 * im2col for 3×3 SAME: [B, H, W, C] → [B·H·W, 9·C], column k·C + c holding x_c(p + δ_k) with k = 3·kh + kw and
 * δ_k = (kh − 1, kw − 1) (zero outside the map). Differentiable with stock kernels; slow on WASM, so it serves
 * as the independent reference for `conv2d` and the NSL layers in the tests.
 */
export function unfold3x3(x: tf.Tensor4D): tf.Tensor2D {
  const [b, h, w, c] = x.shape;
  const xp = padSpatial(x, 1);
  const slices: tf.Tensor4D[] = [];
  for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) slices.push(tf.slice(xp, [0, kh, kw, 0], [b, h, w, c]));
  return tf.reshape(tf.concat(slices, 3), [b * h * w, 9 * c]);
}

/** ν(x)(p) = √(Σ_c Σ_{3×3 window} x_c² + 1e-4): the patch norm the dynamic-NSL predictors divide by, [B, H, W, 1]. */
export function patchNorm(x: tf.Tensor4D, eps = 1e-4): tf.Tensor4D {
  // A constant filter: only the input gradient is needed, which the WASM backend has (Conv2DBackpropInput).
  const ones = tf.ones([3, 3, x.shape[3], 1]) as tf.Tensor4D;
  return tf.sqrt(tf.add(tf.conv2d(tf.square(x), ones, 1, 'same'), eps)) as tf.Tensor4D;
}

/** Top-left corner of the window of offset l = 3·(dh + 1) + (dw + 1) in a map padded by 1. */
function offsetOf(l: number): [number, number] {
  return [Math.floor(l / 3), l % 3];
}

const shiftedMixOp = tf.customGrad(((mt: tf.Tensor3D, z: tf.Tensor4D, save: tf.GradSaveFunc) => {
  save([mt, z]);
  const [b, h, w, c9] = z.shape;
  const c = c9 / 9;
  const n = b * h * w;
  const value = tf.tidy(() => {
    const zp = padSpatial(z, 1);
    let acc: tf.Tensor = tf.zeros([n, c]);
    for (let l = 0; l < 9; l++) {
      const [oh, ow] = offsetOf(l);
      const next = tf.tidy(() => {
        const shifted = tf.reshape(tf.slice(zp, [0, oh, ow, 0], [b, h, w, c9]), [n, 9, c]); // z(p + δ_l)
        const column = tf.reshape(tf.slice(mt, [l, 0, 0], [1, n, 9]), [n, 1, 9]); // M(p)[·, l]ᵀ
        // A batch of 1×9 by 9×C products: 3× faster on WASM than the broadcast multiply + sum.
        return tf.add(acc, tf.reshape(tf.matMul(column, shifted), [n, c]));
      });
      acc.dispose();
      acc = next;
    }
    return tf.reshape(acc, [b, h, w, c]);
  });
  return {
    value,
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [smt, sz] = saved as [tf.Tensor3D, tf.Tensor4D];
      return tf.tidy(() => {
        const zp = padSpatial(sz, 1);
        const dy3 = tf.reshape(dy, [n, 1, c]);
        const dColumns: tf.Tensor[] = [];
        let dzp: tf.Tensor = tf.zeros(zp.shape);
        for (let l = 0; l < 9; l++) {
          const [oh, ow] = offsetOf(l);
          dColumns.push(tf.tidy(() => tf.sum(tf.mul(tf.reshape(tf.slice(zp, [0, oh, ow, 0], [b, h, w, c9]), [n, 9, c]), dy3), 2)));
          const next = tf.tidy(() => {
            const column = tf.reshape(tf.slice(smt, [l, 0, 0], [1, n, 9]), [n, 9, 1]);
            const dShifted = tf.reshape(tf.mul(column, dy3), [b, h, w, c9]);
            return tf.add(
              dzp,
              tf.pad(dShifted, [
                [0, 0],
                [oh, 2 - oh],
                [ow, 2 - ow],
                [0, 0],
              ]),
            );
          });
          dzp.dispose();
          dzp = next;
        }
        return [tf.stack(dColumns, 0), tf.slice(dzp, [0, 1, 1, 0], [b, h, w, c9])];
      });
    },
  };
}) as unknown as CustomGradientFunc<tf.Tensor4D>) as (mt: tf.Tensor3D, z: tf.Tensor4D) => tf.Tensor4D;

/**
 * The dynamic-UNS mixing y(p)[c] = Σ_l Σ_k M(p)[k, l] · z(p + δ_l)[k·C + c] (zero outside the map), with
 * `columns` = M transposed to [9 (l), B·H·W, 9 (k)] and z [B, H, W, 9·C]. Its gradient recomputes the nine
 * shifted copies of z instead of keeping nine [B·H·W, 9, C] products on the tape (≈ 400 MB per layer at batch 32
 * on 28×28 maps, which exhausted the 4 GB WASM heap). Everything stays rank ≤ 4 with the sliced axis leading or
 * spatial: rank-5 slices are ~100× slower on the WASM backend.
 */
export function shiftedMix(columns: tf.Tensor3D, z: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c9] = z.shape;
  if (c9 % 9 !== 0) throw new Error(`shiftedMix: z needs 9·C channels, got ${c9}`);
  if (columns.shape[0] !== 9 || columns.shape[1] !== b * h * w || columns.shape[2] !== 9) {
    throw new Error(`shiftedMix: columns must be [9, ${b * h * w}, 9], got [${columns.shape.join(', ')}]`);
  }
  return shiftedMixOp(columns, z);
}
