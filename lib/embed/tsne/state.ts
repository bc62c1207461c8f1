/**
 * The optimiser's saved state, from which a t-SNE run resumes bit-identically (the affinities are
 * recomputed: they are a pure function of the input), and its file format: a magic tag, a
 * float64 header and the three n x 2 float64 arrays, little-endian, written atomically.
 */
import { randomUUID } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';

export interface TsneState {
  /** 0: early exaggeration, 1: the final stage. */
  stage: 0 | 1;
  /** Iterations done; the next one to run has this number. */
  iteration: number;
  /** The stage's stopping-rule progress (see DescentProgress). */
  bestError: number;
  bestIteration: number;
  /** n x 2 each. */
  embedding: Float64Array;
  update: Float64Array;
  gains: Float64Array;
}

const MAGIC = Buffer.from('SLSTSNE1');
const HEADER = 5; // stage, iteration, bestError, bestIteration, n

export function encodeState(state: TsneState): Buffer {
  const n = state.embedding.length / 2;
  const numbers = new Float64Array(HEADER + 6 * n);
  numbers.set([state.stage, state.iteration, state.bestError, state.bestIteration, n]);
  numbers.set(state.embedding, HEADER);
  numbers.set(state.update, HEADER + 2 * n);
  numbers.set(state.gains, HEADER + 4 * n);
  return Buffer.concat([MAGIC, Buffer.from(numbers.buffer)]);
}

/** The state in `bytes`, or undefined when they are not a whole state file for n points. */
export function decodeState(bytes: Buffer, n: number): TsneState | undefined {
  if (bytes.length !== MAGIC.length + 8 * (HEADER + 6 * n) || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const numbers = new Float64Array(bytes.buffer.slice(bytes.byteOffset + MAGIC.length, bytes.byteOffset + bytes.length));
  const [stage, iteration, bestError, bestIteration, count] = numbers;
  if (count !== n || (stage !== 0 && stage !== 1)) return undefined;
  return {
    stage,
    iteration,
    bestError,
    bestIteration,
    embedding: numbers.slice(HEADER, HEADER + 2 * n),
    update: numbers.slice(HEADER + 2 * n, HEADER + 4 * n),
    gains: numbers.slice(HEADER + 4 * n, HEADER + 6 * n),
  };
}

/** Writes `state` to `path` atomically (temporary file, then rename). */
export async function saveState(path: string, state: TsneState): Promise<void> {
  const temporary = `${path}.${randomUUID()}.tmp`;
  try {
    await writeFile(temporary, encodeState(state));
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** The state saved at `path` for n points, or undefined when there is none (or it is unusable). */
export async function loadState(path: string, n: number): Promise<TsneState | undefined> {
  try {
    return decodeState(await readFile(path), n);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
