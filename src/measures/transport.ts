/**
 * Exact discrete optimal transport with integer masses: min Σ f_ij·c_ij over flows f ≥ 0 whose row sums are
 * `supply` and column sums `demand` (equal totals). The linear assignment problem (permutation matching) is the case
 * of unit masses; the soft-matching distance uses masses q and p so that the plan is uniform on both sides.
 *
 * Successive shortest paths with node potentials on the dense bipartite graph: each round is one Dijkstra from one
 * row with supply left over the reduced costs (row → column edges always, column → row edges where flow is
 * positive), stopped at the first column with demand left, and pushes the largest amount the path allows. Unit
 * masses give the Hungarian algorithm (O(N³) at worst). No tolerance or
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
 * Minimum-cost transport of integer `supply` (rows) to integer `demand` (columns) over the r×c row-major `cost`:
 * every supply is shipped; when the demands add up to more, some stay unmet (a rectangular assignment).
 * Costs must be finite; masses positive integers.
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
  if (totalDemand < total) throw new Error(`transport: total supply ${total} exceeds total demand ${totalDemand}`);
  for (let k = 0; k < cost.length; k++) if (!Number.isFinite(cost[k])) throw new Error(`transport: cost (${Math.floor(k / cols)}, ${k % cols}) is ${cost[k]}`);

  const left = Float64Array.from(supply);
  const need = Float64Array.from(demand);
  const flow = new Float64Array(rows * cols);
  // Potentials: reduced cost c_ij + u_i − v_j ≥ 0 on every edge, = 0 where flow > 0. With more demand than supply
  // the columns start level (v = 0, u_i = −min_j c_ij): a column with demand left is never moved (it ends every round
  // it is reached in), so the nearest one in reduced cost is the nearest in true cost, which lets some demand stay
  // unmet. Balanced problems start from the column minima instead (v_j = min_i c_ij), which needs fewer, shorter rounds.
  const u = new Float64Array(rows);
  const v = new Float64Array(cols);
  if (totalDemand > total) {
    u.fill(Infinity);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) u[i] = Math.min(u[i], cost[i * cols + j]);
    for (let i = 0; i < rows; i++) u[i] = -u[i];
  } else {
    v.fill(Infinity);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) v[j] = Math.min(v[j], cost[i * cols + j]);
  }

  const du = new Float64Array(rows);
  const dv = new Float64Array(cols);
  const doneU = new Uint8Array(rows);
  const doneV = new Uint8Array(cols);
  const parentOfCol = new Int32Array(cols); // the row that reached column j
  const parentOfRow = new Int32Array(rows); // the column that reached row i (−1: a source)
  // Rows with positive flow into each column: the column → row edges of the residual graph.
  const inflow: number[][] = Array.from({ length: cols }, () => []);
  let remaining = total;
  let source = 0;
  while (remaining > 0) {
    du.fill(Infinity);
    dv.fill(Infinity);
    doneU.fill(0);
    doneV.fill(0);
    // One source per round (the next row with supply left), as the Hungarian algorithm adds one row at a time: a
    // round then stops at the first column with demand instead of first relaxing every row that still has supply.
    while (left[source] === 0) source++;
    du[source] = 0;
    parentOfRow[source] = -1;
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
        for (const i of inflow[bi]) {
          if (doneU[i]) continue;
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
      if (flow[i * cols + j] === 0) inflow[j].push(i);
      flow[i * cols + j] += amount;
      const back = parentOfRow[i];
      if (back < 0) {
        left[i] -= amount;
        break;
      }
      flow[i * cols + back] -= amount;
      if (flow[i * cols + back] === 0) inflow[back].splice(inflow[back].indexOf(i), 1);
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
 * The linear assignment of an r×c profit matrix: distinct columns for the rows (r ≤ c) or distinct rows for the
 * columns (r > c) maximising the total profit — scipy's linear_sum_assignment with maximize=True, and the same
 * optimum as netrep's square problem with the smaller side zero-padded. Returns the maximum.
 *
 * `offsets` (square problems only, where every row and every column is matched once, so they leave the optimum
 * unchanged) are added per row and per column to the cost −profit. For profits that are cross products of vectors,
 * half their squared norms make the costs squared distances / 2: the shortest paths then start from column minima
 * close to the optimum and finish several times sooner on real layers.
 */
export function maxAssignment(profit: Float64Array, rows: number, cols: number, offsets?: { rows: ArrayLike<number>; cols: ArrayLike<number> }): number {
  const square = rows === cols && offsets !== undefined;
  const [r, c] = rows <= cols ? [rows, cols] : [cols, rows];
  const cost = new Float64Array(r * c);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) cost[rows <= cols ? i * c + j : j * c + i] = (square ? offsets.rows[i] + offsets.cols[j] : 0) - profit[i * cols + j];
  const plan = transport(cost, r, c, new Float64Array(r).fill(1), new Float64Array(c).fill(1));
  let value = 0;
  for (const [i, j] of plan.flows) value += rows <= cols ? profit[i * cols + j] : profit[j * cols + i];
  return value;
}
