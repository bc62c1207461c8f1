/**
 * Limited-memory BFGS for smooth unconstrained minimisation (Nocedal & Wright, algorithm 7.4),
 * with a backtracking Armijo line search. Deterministic; buffers are allocated once per call.
 * Asynchronous only so that onIteration can yield: the arithmetic runs in plain loops.
 */

/** Writes the gradient at x into `gradient` and returns the objective's value at x. */
export type Objective = (x: Float64Array, gradient: Float64Array) => number;

export interface LbfgsOptions {
  /** Correction pairs kept (scipy's maxcor). */
  memory?: number;
  maxIterations?: number;
  /** Stop once every gradient component is at most this in absolute value (scipy's gtol). */
  gradientTolerance?: number;
  /** Stop once an iteration lowers the objective by at most this, relative (scipy's ftol). */
  relativeTolerance?: number;
  /** Awaited after each iteration: where a long fit reports progress and lets the event loop run. */
  onIteration?: (iteration: number, value: number) => void | Promise<void>;
}

export interface Minimum {
  x: Float64Array;
  value: number;
  iterations: number;
  /** True when a tolerance was met, false when the iterations ran out or the line search stalled. */
  converged: boolean;
}

const ARMIJO = 1e-4;
const MAX_BACKTRACKS = 60;

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

function maxAbs(a: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]));
  return worst;
}

export async function minimizeLbfgs(objective: Objective, start: Float64Array, options: LbfgsOptions = {}): Promise<Minimum> {
  const memory = options.memory ?? 10;
  const maxIterations = options.maxIterations ?? 1000;
  const gradientTolerance = options.gradientTolerance ?? 1e-8;
  const relativeTolerance = options.relativeTolerance ?? 64 * Number.EPSILON;
  const size = start.length;
  let x = Float64Array.from(start);
  let trial = new Float64Array(size);
  let gradient = new Float64Array(size);
  let trialGradient = new Float64Array(size);
  const direction = new Float64Array(size);
  const s = Array.from({ length: memory }, () => new Float64Array(size));
  const y = Array.from({ length: memory }, () => new Float64Array(size));
  const rho = new Float64Array(memory);
  const alpha = new Float64Array(memory);
  let stored = 0;
  let newest = -1;

  let value = objective(x, gradient);
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    if (maxAbs(gradient) <= gradientTolerance) return { x, value, iterations: iteration, converged: true };
    // Two-loop recursion: direction = -H gradient, H0 scaled by s'y / y'y of the newest pair.
    for (let i = 0; i < size; i++) direction[i] = -gradient[i];
    for (let back = 0; back < stored; back++) {
      const pair = (newest - back + memory) % memory;
      alpha[pair] = rho[pair] * dot(s[pair], direction);
      for (let i = 0; i < size; i++) direction[i] -= alpha[pair] * y[pair][i];
    }
    const scale = stored > 0 ? dot(s[newest], y[newest]) / dot(y[newest], y[newest]) : 1 / Math.sqrt(dot(gradient, gradient));
    for (let i = 0; i < size; i++) direction[i] *= scale;
    for (let forward = stored - 1; forward >= 0; forward--) {
      const pair = (newest - forward + memory) % memory;
      const beta = rho[pair] * dot(y[pair], direction);
      for (let i = 0; i < size; i++) direction[i] += (alpha[pair] - beta) * s[pair][i];
    }
    const slope = dot(gradient, direction);

    let step = 1;
    let trialValue = Number.NaN;
    let accepted = false;
    for (let tries = 0; tries < MAX_BACKTRACKS; tries++, step /= 2) {
      for (let i = 0; i < size; i++) trial[i] = x[i] + step * direction[i];
      trialValue = objective(trial, trialGradient);
      if (trialValue <= value + ARMIJO * step * slope) {
        accepted = true;
        break;
      }
    }
    if (!accepted) return { x, value, iterations: iteration, converged: false };

    newest = (newest + 1) % memory;
    for (let i = 0; i < size; i++) {
      s[newest][i] = trial[i] - x[i];
      y[newest][i] = trialGradient[i] - gradient[i];
    }
    const curvature = dot(s[newest], y[newest]);
    // A pair without positive curvature would make H indefinite: drop it.
    if (curvature > 1e-12 * dot(y[newest], y[newest])) {
      rho[newest] = 1 / curvature;
      stored = Math.min(stored + 1, memory);
    } else {
      // The slot written was the oldest pair's when the memory was full: that pair is gone too.
      newest = (newest - 1 + memory) % memory;
      stored = Math.min(stored, memory - 1);
    }
    const previous = value;
    [x, trial] = [trial, x];
    [gradient, trialGradient] = [trialGradient, gradient];
    value = trialValue;
    await options.onIteration?.(iteration + 1, value);
    if (previous - value <= relativeTolerance * Math.max(Math.abs(previous), Math.abs(value), 1)) {
      return { x, value, iterations: iteration + 1, converged: true };
    }
  }
  return { x, value, iterations: maxIterations, converged: maxAbs(gradient) <= gradientTolerance };
}
