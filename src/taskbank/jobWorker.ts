/**
 * Worker-thread entry of the task bank's jobs (jobs.ts): one TF.js WASM backend per thread, one job at a time;
 * training progress is forwarded as it happens, then the result (or the error) is posted.
 */
import { serveJobs } from '../workers/jobPool.js';
import type { TrainProgress } from './train.js';
import { runBankJob, type BankJob, type BankJobResult } from './jobs.js';

serveJobs<BankJob, BankJobResult, TrainProgress>('taskbank/jobWorker.ts', (job, progress) => runBankJob(job, progress));
