/**
 * workerReplies: a worker's replies in order, none lost when they arrive before they are asked for, and its exit
 * as an Error.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { workerReplies } from '../../src/workers/startWorker.js';

describe('workerReplies', () => {
  it('keeps replies that arrive before they are asked for, in order, then reports the exit', async () => {
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads'); parentPort.postMessage(1); parentPort.postMessage(2); setTimeout(() => process.exit(3), 20);`,
      {
        eval: true,
      },
    );
    const reply = workerReplies<number>(worker, 'test');
    await new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    // All three arrived while nobody was asking.
    expect(await reply()).toBe(1);
    expect(await reply()).toBe(2);
    const end = await reply();
    expect(end).toBeInstanceOf(Error);
    expect((end as Error).message).toBe('a test worker exited (code 3)');
  });

  it('hands a reply to a caller already waiting for it', async () => {
    const worker = new Worker(`const { parentPort } = require('node:worker_threads'); parentPort.once('message', (m) => parentPort.postMessage(m * 2));`, {
      eval: true,
    });
    const reply = workerReplies<number>(worker, 'test');
    const waiting = reply();
    worker.postMessage(21);
    expect(await waiting).toBe(42);
    await worker.terminate();
  });
});
