import type { Matrix } from './dense.js';

/**
 * A matrix with named rows and columns: similarity matrices (rows = cols = models), ground-truth transfer
 * matrices (rows = sources, cols = targets), RDMs with image ids.
 */
export interface LabelledMatrix {
  rows: string[];
  cols: string[];
  matrix: Matrix;
  /** Measure id (registry id) that produced it, when it is a similarity matrix. */
  measure?: string;
}

/** The JSON form shared by the CLI, the server and other tools: {"rows", "cols", "matrix": [[...]], "measure"}. */
export interface LabelledMatrixJson {
  rows: string[];
  cols: string[];
  matrix: (number | null)[][];
  measure?: string;
}
