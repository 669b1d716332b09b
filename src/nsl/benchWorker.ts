/**
 * Worker-thread entry of the NSL benchmark: one TF.js WASM backend per thread (the backend is single-threaded in
 * Node), one training run at a time.
 */
import { serveJobs } from '../workers/jobPool.js';
import { runBenchJob, type BenchJob, type BenchRun } from './bench.js';

serveJobs<BenchJob, BenchRun>('nsl/benchWorker.ts', (job) => runBenchJob(job));
