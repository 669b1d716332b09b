import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/linalg/resample.js';
import { taskBatch, taskData } from '../../src/taskbank/taskData.js';
import { buildPixelSamples, taskDefinition, type PixelTask } from '../../src/taskbank/tasks.js';

const R = 8;
const N = 5;
const random = mulberry32(3);
const crops = Uint8Array.from({ length: N * R * R * 3 }, () => Math.floor(random() * 256));
const per = R * R * 3;

describe('taskData', () => {
  it('holds the builder’s samples, crop i built with index i (pixel tasks)', () => {
    for (const id of ['denoising', 'inpainting', 'rotation', 'segmentation']) {
      const task = taskDefinition(id) as PixelTask;
      const d = taskData(task, crops, undefined, R, 7);
      const samples = buildPixelSamples(task, crops, R, 7);
      expect(d.n).toBe(N);
      expect(d.targetShape).toEqual(task.targetShape(R));
      const tp = d.targetShape.reduce((a, b) => a * b, 1);
      for (let i = 0; i < N; i++) {
        expect(Array.from(d.inputs.subarray(i * per, (i + 1) * per))).toEqual(Array.from(samples[i].input));
        expect(Array.from(d.targets.subarray(i * tp, (i + 1) * tp))).toEqual(Array.from(samples[i].target));
        if (id === 'inpainting') expect(Array.from(d.mask!.subarray(i * R * R, (i + 1) * R * R))).toEqual(Array.from(samples[i].mask!));
      }
      if (id !== 'inpainting') expect(d.mask).toBeUndefined();
    }
  });

  it('a batch of any crops equals those rows of the whole part (seeded tasks included)', () => {
    const task = taskDefinition('inpainting');
    const all = taskData(task, crops, undefined, R, 11);
    const b = taskBatch(task, crops, R, 11, [3, 0, 3]);
    for (const [j, i] of [3, 0, 3].entries()) {
      expect(Array.from(b.inputs.subarray(j * per, (j + 1) * per))).toEqual(Array.from(all.inputs.subarray(i * per, (i + 1) * per)));
      expect(Array.from(b.mask!.subarray(j * R * R, (j + 1) * R * R))).toEqual(Array.from(all.mask!.subarray(i * R * R, (i + 1) * R * R)));
    }
    // Another task seed moves the hole.
    const other = taskData(task, crops, undefined, R, 12);
    expect(Array.from(other.mask!)).not.toEqual(Array.from(all.mask!));
    expect(taskData(task, crops, 2, R, 11).n).toBe(2);
  });

  it('teacher tasks: the crop in [0, 1] and the teacher’s rows', () => {
    const task = taskDefinition('content-class');
    const teacher = Float32Array.from({ length: N * 5 }, (_, i) => i / 10);
    const b = taskBatch(task, crops, R, 0, [4, 1], teacher);
    expect(b.targetShape).toEqual([5]);
    expect(Array.from(b.targets)).toEqual(Array.from(teacher.subarray(20, 25)).concat(Array.from(teacher.subarray(5, 10))));
    expect(b.inputs[0]).toBeCloseTo(crops[4 * per] / 255, 7);
    expect(b.inputs[per + 5]).toBeCloseTo(crops[per + 5] / 255, 7);
  });

  it('bad inputs name the problem', () => {
    expect(() => taskData('content-class', crops, undefined, R, 0)).toThrow(/distilled from nsfw-mobilenet-v2: pass its targets/);
    expect(() => taskData('content-class', crops, undefined, R, 0, new Float32Array(3))).toThrow(/5 crops need 25 teacher values \(\[5\] each\), got 3/);
    expect(() => taskData('edges', crops, undefined, R, 0, new Float32Array(3))).toThrow(/computed from the pixels; teacher targets were given/);
    expect(() => taskBatch('edges', crops, R, 0, [5])).toThrow(/crop index 5 is outside 0…4/);
    expect(() => taskData('edges', crops.subarray(1), undefined, R, 0)).toThrow(/not whole 8×8×3 crops/);
    expect(() => taskData('edges', crops, 6, R, 0)).toThrow(/asked for 6 samples of 5 crops/);
    expect(() => taskData('nope', crops, undefined, R, 0)).toThrow(/unknown task "nope"/);
  });
});
