/**
 * Exact discrete optimal transport with integer masses: min Σ f_ij·c_ij over flows f ≥ 0 whose row sums are
 * `supply` and column sums `demand` (equal totals). The linear assignment problem (permutation matching) is the case
 * of unit masses; the soft-matching distance uses masses q and p so that the plan is uniform on both sides.
 *
 * Successive shortest paths with node potentials on the dense bipartite graph: each round is one O((r + c)² + r·c)
 * Dijkstra over the reduced costs (row → column edges always, column → row edges where flow is positive), and
 * pushes the largest amount the path allows. Unit masses give the Hungarian algorithm's O(N³). No tolerance or
 * iteration cap decides anything: the result is an optimal vertex of the transportation polytope (the flows are
 * integers), up to rounding in the costs.
 */

export interface TransportPlan {
  /** The minimum Σ f_ij·c_ij. */
  cost: number;
  /** Positive flows as (row, column, amount) triples. */
  flows: [number, number, number][];
}

/**
 * Minimum-cost transport of integer `supply` (rows) to integer `demand` (columns) over the r×c row-major `cost`.
 * Costs must be finite; masses positive integers with equal totals.
 */
export function transport(cost: Float64Array, rows: number, cols: number, supply: ArrayLike<number>, demand: ArrayLike<number>): TransportPlan {
  if (cost.length !== rows * cols) throw new Error(`transport: cost holds ${cost.length} values, expected ${rows}×${cols}`);
  let total = 0;
  let totalDemand = 0;
  for (let i = 0; i < rows; i++) {
    if (!Number.isInteger(supply[i]) || supply[i] <= 0) throw new Error(`transport: supply ${i} is ${supply[i]}, not a positive integer`);
    total += supply[i];
  }
  for (let j = 0; j < cols; j++) {
    if (!Number.isInteger(demand[j]) || demand[j] <= 0) throw new Error(`transport: demand ${j} is ${demand[j]}, not a positive integer`);
    totalDemand += demand[j];
  }
  if (total !== totalDemand) throw new Error(`transport: total supply ${total} differs from total demand ${totalDemand}`);
  for (let k = 0; k < cost.length; k++) if (!Number.isFinite(cost[k])) throw new Error(`transport: cost (${Math.floor(k / cols)}, ${k % cols}) is ${cost[k]}`);

  const left = Float64Array.from(supply);
  const need = Float64Array.from(demand);
  const flow = new Float64Array(rows * cols);
  // Potentials: reduced cost c_ij + u_i − v_j ≥ 0 on every edge, = 0 where flow > 0.
  const u = new Float64Array(rows);
  const v = new Float64Array(cols).fill(Infinity);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) v[j] = Math.min(v[j], cost[i * cols + j]);

  const du = new Float64Array(rows);
  const dv = new Float64Array(cols);
  const doneU = new Uint8Array(rows);
  const doneV = new Uint8Array(cols);
  const parentOfCol = new Int32Array(cols); // the row that reached column j
  const parentOfRow = new Int32Array(rows); // the column that reached row i (−1: a source)
  let remaining = total;
  while (remaining > 0) {
    du.fill(Infinity);
    dv.fill(Infinity);
    doneU.fill(0);
    doneV.fill(0);
    for (let i = 0; i < rows; i++) {
      if (left[i] > 0) {
        du[i] = 0;
        parentOfRow[i] = -1;
      }
    }
    let target: number;
    let reach: number;
    // Dense Dijkstra over rows and columns: pick the closest unfinished node each step.
    for (;;) {
      let best = Infinity;
      let bi = -1;
      let isRow = true;
      for (let i = 0; i < rows; i++) {
        if (!doneU[i] && du[i] < best) {
          best = du[i];
          bi = i;
          isRow = true;
        }
      }
      for (let j = 0; j < cols; j++) {
        if (!doneV[j] && dv[j] < best) {
          best = dv[j];
          bi = j;
          isRow = false;
        }
      }
      if (bi < 0) throw new Error('transport: no augmenting path (internal error)');
      if (isRow) {
        doneU[bi] = 1;
        const base = bi * cols;
        for (let j = 0; j < cols; j++) {
          if (doneV[j]) continue;
          // Rounding may leave a reduced cost a hair below zero; it is zero.
          const d = best + Math.max(0, cost[base + j] + u[bi] - v[j]);
          if (d < dv[j]) {
            dv[j] = d;
            parentOfCol[j] = bi;
          }
        }
      } else {
        doneV[bi] = 1;
        if (need[bi] > 0) {
          target = bi;
          reach = best;
          break;
        }
        for (let i = 0; i < rows; i++) {
          if (doneU[i] || flow[i * cols + bi] <= 0) continue;
          const d = best + Math.max(0, -(cost[i * cols + bi] + u[i] - v[bi]));
          if (d < du[i]) {
            du[i] = d;
            parentOfRow[i] = bi;
          }
        }
      }
    }
    // Potentials: finished nodes move by their distance, the rest by the distance of the target.
    for (let i = 0; i < rows; i++) u[i] += doneU[i] ? du[i] - reach : 0;
    for (let j = 0; j < cols; j++) v[j] += doneV[j] ? dv[j] - reach : 0;
    // The bottleneck along the path: the target's need, the source's supply, every reversed flow.
    let amount = need[target];
    let j = target;
    for (;;) {
      const i = parentOfCol[j];
      const back = parentOfRow[i];
      if (back < 0) {
        amount = Math.min(amount, left[i]);
        break;
      }
      amount = Math.min(amount, flow[i * cols + back]);
      j = back;
    }
    j = target;
    for (;;) {
      const i = parentOfCol[j];
      flow[i * cols + j] += amount;
      const back = parentOfRow[i];
      if (back < 0) {
        left[i] -= amount;
        break;
      }
      flow[i * cols + back] -= amount;
      j = back;
    }
    need[target] -= amount;
    remaining -= amount;
  }
  const flows: [number, number, number][] = [];
  let c = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const f = flow[i * cols + j];
      if (f > 0) {
        flows.push([i, j, f]);
        c += f * cost[i * cols + j];
      }
    }
  }
  return { cost: c, flows };
}

/**
 * The linear assignment of a square n×n profit matrix: the permutation π maximising Σ_a profit[a, π(a)]
 * (scipy's linear_sum_assignment with maximize=True). Returns π and the maximum.
 */
export function maxAssignment(profit: Float64Array, n: number): { perm: Int32Array; value: number } {
  const cost = new Float64Array(profit.length);
  for (let k = 0; k < profit.length; k++) cost[k] = -profit[k];
  const ones = new Float64Array(n).fill(1);
  const plan = transport(cost, n, n, ones, ones);
  const perm = new Int32Array(n);
  let value = 0;
  for (const [i, j] of plan.flows) {
    perm[i] = j;
    value += profit[i * n + j];
  }
  return { perm, value };
}
