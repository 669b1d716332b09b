/**
 * Where the read-only published data sits (../shared/data beside the clone). Locally, tests skip their real-data
 * cases without it; under CI (`CI` set, as `.ci/run` does) they are required, so CI can never pass by skipping.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sharedDataDir = path.resolve(repoRoot, '../shared/data');
export const haveSharedData =
  existsSync(path.join(sharedDataDir, 'taskonomy', 'results')) && existsSync(path.join(sharedDataDir, 'duality-diagram-similarity'));

/** `describe.skipIf(skipWithoutSharedData)`: skip only outside CI, and only when the data is missing. */
export const skipWithoutSharedData = !haveSharedData && !process.env.CI;
