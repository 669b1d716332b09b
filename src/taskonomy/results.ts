/**
 * Taskonomy result dictionaries: flat {"src1__src2__…__target": value}. The last `__` token is the target,
 * the others the (unordered) source set; pseudo-sources `self`, `random`, `pixels`.
 *
 * The data type, key parsing and the first-order matrix live in io/resultDict.ts (the readers need them, and io is
 * below taskonomy); this module re-exports them for the algorithms and for existing import paths.
 */
export {
  PSEUDO_SOURCES,
  LABELLED_MATRIX_BYTES_PER_CELL,
  parseTransferKey,
  canonicalKey,
  parseResultDict,
  renameTasks,
  firstOrderMatrix,
  canonicalIndex,
  resultTargets,
  type ResultDict,
  type TransferKey,
} from '../io/resultDict.js';
