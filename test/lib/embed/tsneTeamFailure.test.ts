/**
 * A helper thread that dies fails the run with a clear, retryable error, instead of leaving the
 * coordinator waiting (Atomics.wait) for work nobody will finish, and leaves no thread running.
 * The deaths are real: a helper that exits mid-round holding a claimed unit (the fault hook
 * SLS_FAULT_HELPER_EXIT_ON_ROUND), and one whose job throws.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { runTsne } from '../../../lib/embed/tsne/index.js';
import { runTsneOffThread } from '../../../lib/embed/tsne/offThread.js';
import { SeededRandom } from '../../../lib/embed/tsne/random.js';
import { FAULT_EXIT_CODE, HelperThreadError, ThreadTeam } from '../../../lib/embed/tsne/team.js';
import { InputError } from '../../../lib/errors.js';

const N = 1000;
const D = 8;
const random = new SeededRandom(5);
const features = Float32Array.from({ length: N * D }, (_, t) => random.nextGaussian() + (t % D === Math.floor(t / D) % 4 ? 8 : 0));

/** The OS threads of this process. */
function osThreads(): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
}

/** Resolves once this process has at most `count` threads; rejects after `seconds`. */
async function threadsBackTo(count: number, seconds: number): Promise<void> {
  for (let waited = 0; osThreads() > count; waited += 0.05) {
    if (waited > seconds) throw new Error(`${osThreads()} threads still running, ${count} before the run`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Far above the few seconds these runs take before the helper dies, far below a hang's forever. */
const BOUND_MS = 60_000;

const dying = `helper 1 of 1 exited \\(code ${FAULT_EXIT_CODE}\\) before the team was closed`;

afterEach(() => {
  delete process.env.SLS_FAULT_HELPER_EXIT_ON_ROUND;
});

describe('a helper thread that dies', () => {
  for (const method of ['exact', 'barnes_hut', 'fft'] as const) {
    it(
      `fails runTsne's lockstep rounds with a HelperThreadError naming the exit (${method} gradient)`,
      async () => {
        process.env.SLS_FAULT_HELPER_EXIT_ON_ROUND = '1';
        const before = osThreads();
        const run = runTsne(features, N, D, { seed: 1, method, threads: 2 });
        await expect(run).rejects.toThrow(HelperThreadError);
        await expect(run).rejects.toThrow(new RegExp(dying));
        await threadsBackTo(before, 10);
      },
      BOUND_MS,
    );
  }

  it(
    'fails runTsneOffThread with a retryable error (not an InputError), and leaves no thread running',
    async () => {
      process.env.SLS_FAULT_HELPER_EXIT_ON_ROUND = '1';
      const before = osThreads();
      const error = await runTsneOffThread(features, N, D, { seed: 1, threads: 2 }).then(
        () => undefined,
        (failure: Error) => failure,
      );
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(InputError);
      expect(error).not.toBeInstanceOf(RangeError);
      expect(error!.name).toBe('HelperThreadError');
      expect(error!.message).toMatch(new RegExp(dying));
      await threadsBackTo(before, 10);
    },
    BOUND_MS,
  );

  it('rejects the calls waiting on it with its error, and every later wait', async () => {
    const team = ThreadTeam.start<{ kind: 'echo' | 'throw'; text: string }>(2, new URL('../../helpers/failingHelper.ts', import.meta.url));
    try {
      expect(await Promise.all(team.callEach({ kind: 'echo', text: 'a' }))).toEqual(['a']);
      await expect(Promise.all(team.callEach({ kind: 'throw', text: 'job 2' }))).rejects.toThrow(
        /helper 1 of 1 failed: Error: helper failed on job 2/,
      );
      expect(() => team.throwIfFailed()).toThrow(HelperThreadError);
      await expect(Promise.all(team.callEach({ kind: 'echo', text: 'b' }))).rejects.toThrow(HelperThreadError);
    } finally {
      await team.close();
    }
  });
});
