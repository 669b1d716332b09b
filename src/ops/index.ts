/**
 * The use cases, one module each: what the CLI, the server and the report call (they only parse, call and format).
 * Exported from the package as `ops` (`import { ops } from 'taskmap'`) and as the subpath `taskmap/ops`.
 */
export * from './ahp.js';
export * from './convert.js';
export * from './demo.js';
export * from './evaluate.js';
export * from './fisher.js';
export * from './inference.js';
export * from './measures.js';
export * from './memory.js';
export * from './policy.js';
export * from './rank.js';
export * from './results.js';
export * from './similarity.js';
export * from './taxonomy.js';
