/**
 * The primitives of a thread team (team.ts): shared arrays, claim counters and lockstep rounds.
 * Each is checked against hand-counted claims on the calling thread, and where a second thread
 * matters, against one: a plain worker that finishes units on a schedule, or a real team helper.
 */
import { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, it } from 'vitest';
import { jointProbabilities, type SparseAffinities } from '../../../lib/embed/tsne/affinity.js';
import { AttractionKernel, sharedAttraction } from '../../../lib/embed/tsne/attraction.js';
import { GRADIENT_CHUNKS, type SharedGradient } from '../../../lib/embed/tsne/barnesHut.js';
import { exactNeighbors } from '../../../lib/embed/tsne/neighbors.js';
import { SeededRandom } from '../../../lib/embed/tsne/random.js';
import {
  awaitClaims,
  claimUnit,
  finishUnit,
  HelperThreadError,
  LOCKSTEP_SLOTS,
  lockstepControl,
  serveLockstep,
  sharedFloat64,
  startLockstep,
  ThreadTeam,
  workOnClaims,
} from '../../../lib/embed/tsne/team.js';
import { startTsneTeam } from '../../../lib/embed/tsne/tsneTeam.js';
import { gaussianBlobs } from '../../helpers/fixtures.js';

/** A fresh workOnClaims counter: [next unit to claim, units finished]. */
const newCounter = () => new Int32Array(new SharedArrayBuffer(8));

/** Runs `source` (plain JavaScript, CommonJS) on a worker thread with `workerData`. */
function plainThread(source: string, workerData: unknown): Worker {
  return new Worker(`const { workerData, parentPort } = require('node:worker_threads');\n${source}`, { eval: true, workerData });
}

describe('sharedFloat64', () => {
  it('gives `length` zeros on a SharedArrayBuffer that another thread writes through', async () => {
    const array = sharedFloat64(5);
    expect(array.length).toBe(5);
    expect(array.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(array)).toEqual([0, 0, 0, 0, 0]);
    const writer = plainThread('for (let i = 0; i < workerData.length; i++) workerData[i] = i + 0.5; parentPort.postMessage(0);', array);
    try {
      await new Promise((resolve) => writer.once('message', resolve));
    } finally {
      await writer.terminate();
    }
    // Written there, read here: the memory is shared, not copied.
    expect(Array.from(array)).toEqual([0.5, 1.5, 2.5, 3.5, 4.5]);
  });
});

describe('workOnClaims', () => {
  it('runs every unit once, in claim order, and counts each finished one', () => {
    const counter = newCounter();
    const visited: number[] = [];
    workOnClaims(counter, 4, (unit) => visited.push(unit));
    expect(visited).toEqual([0, 1, 2, 3]);
    expect(Atomics.load(counter, 1)).toBe(4);
    // No units: the body never runs.
    workOnClaims(newCounter(), 0, () => visited.push(-1));
    expect(visited).toEqual([0, 1, 2, 3]);
  });

  it('takes only the units no one claimed before it', () => {
    // As if another thread had claimed and finished units 0, 1 and 2 of 5.
    const counter = Int32Array.from([3, 3]);
    const visited: number[] = [];
    workOnClaims(counter, 5, (unit) => visited.push(unit));
    expect(visited).toEqual([3, 4]);
    expect(counter[1]).toBe(5);
  });

  it('shares the units with a claimer that comes in between: each claimed exactly once', () => {
    // While the outer claimer works on unit 0, an inner one (another thread, in effect) claims
    // the rest; the outer one then finds nothing left.
    const counter = newCounter();
    const outer: number[] = [];
    const inner: number[] = [];
    workOnClaims(counter, 6, (unit) => {
      outer.push(unit);
      if (unit === 0) workOnClaims(counter, 6, (innerUnit) => inner.push(innerUnit));
    });
    expect(outer).toEqual([0]);
    expect(inner).toEqual([1, 2, 3, 4, 5]);
    expect(Atomics.load(counter, 1)).toBe(6);
  });
});

describe('awaitClaims', () => {
  it('returns at once when every unit is finished', () => {
    const counter = Int32Array.from([4, 3]);
    awaitClaims(counter, 3);
    awaitClaims(counter, 0);
    expect(Array.from(counter)).toEqual([4, 3]);
  });

  it('waits for the units another thread finishes, until the last one', () => {
    // The other thread finishes 3 units 40 ms apart: the wait lasts about 120 ms and ends with all 3.
    const counter = newCounter();
    const finisher = plainThread(
      `const { counter, units } = workerData;
       const pause = new Int32Array(new SharedArrayBuffer(4));
       for (let unit = 0; unit < units; unit++) {
         Atomics.wait(pause, 0, 0, 40);
         Atomics.add(counter, 1, 1);
         Atomics.notify(counter, 1);
       }`,
      { counter, units: 3 },
    );
    try {
      const start = performance.now();
      awaitClaims(counter, 3);
      expect(Atomics.load(counter, 1)).toBe(3);
      expect(performance.now() - start).toBeGreaterThanOrEqual(100);
    } finally {
      void finisher.terminate();
    }
  });

  it('throws a HelperThreadError when a helper of the team dies during the wait', async () => {
    const team = ThreadTeam.start<{ kind: 'echo' | 'throw'; text: string }>(2, new URL('../../helpers/failingHelper.ts', import.meta.url));
    // Nobody finishes the unit, so only the helper's death can end the wait. A watchdog finishes it
    // after 20 s (the death takes about a second to arrive), so a wait that missed the death ends
    // without the error, and the test fails instead of hanging: vitest cannot time out a thread
    // blocked in Atomics.wait.
    const counter = newCounter();
    const watchdog = plainThread(
      'const pause = new Int32Array(new SharedArrayBuffer(4)); Atomics.wait(pause, 0, 0, 20000); Atomics.add(workerData, 1, 1); Atomics.notify(workerData, 1);',
      counter,
    );
    try {
      const replies = team.callEach({ kind: 'throw', text: 'the claims' });
      expect(() => awaitClaims(counter, 1, team)).toThrow(HelperThreadError);
      await expect(Promise.all(replies)).rejects.toThrow(/helper failed on the claims/);
    } finally {
      await watchdog.terminate();
      await team.close();
    }
  });
});

describe('lockstepControl', () => {
  it('gives LOCKSTEP_SLOTS (4) zeroed Int32 slots on a SharedArrayBuffer', () => {
    const control = lockstepControl();
    expect(LOCKSTEP_SLOTS).toBe(4);
    expect(control).toBeInstanceOf(Int32Array);
    expect(control.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(control)).toEqual([0, 0, 0, 0]);
  });
});

describe('lockstep rounds on the calling thread (startLockstep without a team, claimUnit, finishUnit)', () => {
  it('numbers the rounds 1, 2, ... and opens units 0 .. units - 1 of each exactly once', () => {
    const control = lockstepControl();
    const lockstep = startLockstep(undefined, 'no helpers to ask', control);
    const rounds: number[] = [];
    const claims: number[][] = [];
    for (const units of [3, 1, 5]) {
      lockstep.round(units, (round) => {
        rounds.push(round);
        const got: number[] = [];
        for (let unit = claimUnit(control, round, units); unit >= 0; unit = claimUnit(control, round, units)) got.push(unit);
        // Every unit claimed: the next claim gets none.
        got.push(claimUnit(control, round, units));
        claims.push(got);
        for (let unit = 0; unit < units; unit++) finishUnit(control);
      });
    }
    expect(rounds).toEqual([1, 2, 3]);
    expect(claims).toEqual([
      [0, 1, 2, -1],
      [0, -1],
      [0, 1, 2, 3, 4, -1],
    ]);
  });

  it("gives no unit to a claimer holding the previous round's number, or a later one's", () => {
    const control = lockstepControl();
    const lockstep = startLockstep(undefined, 'no helpers to ask', control);
    lockstep.round(0, () => undefined);
    lockstep.round(2, (round) => {
      expect(round).toBe(2);
      // A helper that woke late (round 1) or a number not opened yet (round 3): nothing, and
      // nothing taken from this round.
      expect(claimUnit(control, 1, 2)).toBe(-1);
      expect(claimUnit(control, 3, 2)).toBe(-1);
      expect([claimUnit(control, round, 2), claimUnit(control, round, 2), claimUnit(control, round, 2)]).toEqual([0, 1, -1]);
      finishUnit(control);
      finishUnit(control);
    });
  });

  it('refuses a round of UNIT_LIMIT (64) units or more', () => {
    const lockstep = startLockstep(undefined, 'no helpers to ask', lockstepControl());
    expect(() => lockstep.round(64, () => undefined)).toThrow(RangeError);
  });
});

describe('serveLockstep on the calling thread', () => {
  it('serves a round opened before it started, and returns once stopped', () => {
    const control = lockstepControl();
    const lockstep = startLockstep(undefined, 'no helpers to ask', control);
    // A round of no units returns at once: it is open before the helper's loop begins.
    lockstep.round(0, () => undefined);
    const served: number[] = [];
    serveLockstep(control, (round) => {
      served.push(round);
      lockstep.stop();
    });
    expect(served).toEqual([1]);
  });

  it('returns without working when stopped before it started', () => {
    const control = lockstepControl();
    startLockstep(undefined, 'no helpers to ask', control).stop();
    const served: number[] = [];
    serveLockstep(control, (round) => served.push(round));
    expect(served).toEqual([]);
  });
});

describe('lockstep rounds with a real helper (startLockstep, claimUnit, finishUnit, serveLockstep)', () => {
  const n = 200;
  let affinities: SparseAffinities;
  beforeAll(async () => {
    affinities = jointProbabilities(await exactNeighbors(gaussianBlobs(40, 5, 4, 3).features, n, 4, 30), n, 10);
  });
  const random = new SeededRandom(3);
  const embeddings = Array.from({ length: 3 }, () => Float64Array.from({ length: 2 * n }, () => 3 * random.nextGaussian()));
  const sharedGradient = (): SharedGradient => ({
    repulsion: sharedFloat64(2 * n),
    attraction: sharedAttraction(affinities),
    zParts: sharedFloat64(GRADIENT_CHUNKS),
    parameters: sharedFloat64(1),
    control: lockstepControl(),
  });

  it('splits each round between the coordinator and the helper, every unit done exactly once, round after round', async () => {
    const team = startTsneTeam(2);
    try {
      const shared = sharedGradient();
      const placer = new AttractionKernel(shared.attraction);
      const lockstep = startLockstep(team, { kind: 'barnesHut', affinities, shared, angle: 0.5 }, shared.control);
      try {
        for (const embedding of embeddings) {
          placer.place(embedding);
          shared.parameters[0] = 1;
          shared.zParts.fill(Number.NaN);
          // The coordinator claims up to 8 chunks and leaves them unwritten: the helper must do
          // every other chunk, and none of these.
          const mine: number[] = [];
          lockstep.round(GRADIENT_CHUNKS, (round) => {
            while (mine.length < 8) {
              const unit = claimUnit(shared.control, round, GRADIENT_CHUNKS);
              if (unit < 0) break;
              mine.push(unit);
              finishUnit(shared.control);
            }
          });
          const unwritten = Array.from(shared.zParts.keys()).filter((chunk) => Number.isNaN(shared.zParts[chunk]));
          expect(unwritten).toEqual(mine.sort((a, b) => a - b));
          for (const z of shared.zParts) if (!Number.isNaN(z)) expect(z).toBeGreaterThan(0);
        }
      } finally {
        lockstep.stop();
      }
    } finally {
      await team.close();
    }
  });

  it("fails a round with a HelperThreadError when the helper serving it dies (the team's failure reaches the rounds)", async () => {
    // The fault hook (team.ts): the helper exits on its first round, holding a claimed unit.
    process.env.SLS_FAULT_HELPER_EXIT_ON_ROUND = '1';
    const team = startTsneTeam(2);
    try {
      const shared = sharedGradient();
      new AttractionKernel(shared.attraction).place(embeddings[0]);
      const lockstep = startLockstep(team, { kind: 'barnesHut', affinities, shared, angle: 0.5 }, shared.control);
      try {
        expect(() => lockstep.round(GRADIENT_CHUNKS, () => undefined)).toThrow(HelperThreadError);
      } finally {
        lockstep.stop();
      }
    } finally {
      delete process.env.SLS_FAULT_HELPER_EXIT_ON_ROUND;
      await team.close();
    }
  });
});
