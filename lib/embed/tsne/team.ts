/**
 * A team of helper threads for one t-SNE run: the calling thread is member 0, each helper a
 * worker thread (teamThread.ts). Helpers take asynchronous jobs by message (the kNN search) and
 * lockstep rounds through a SharedArrayBuffer (one per gradient, where a message round trip per
 * iteration would cost more than it saves). In both, work units are claimed from a shared
 * counter, so a helper that is still starting, or a core busy elsewhere, only slows the run down;
 * callers make their results independent of who did which unit.
 */
import type { Worker } from 'node:worker_threads';
import { startThread } from '../../threads.js';
import type { Envelope, HelperRequest } from './teamThread.js';

export class ThreadTeam {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(reply: unknown): void; reject(error: Error): void }>();

  private constructor(private readonly helpers: Worker[]) {
    for (const worker of helpers) {
      worker.on('message', ({ id, reply }: { id: number; reply: unknown }) => {
        this.pending.get(id)?.resolve(reply);
        this.pending.delete(id);
      });
      worker.on('error', (error) => {
        for (const waiter of this.pending.values()) waiter.reject(error);
        this.pending.clear();
      });
    }
  }

  /**
   * A team of `threads` members (the caller and threads - 1 helpers). A team lives for one run:
   * its helpers' isolates hold the run's shared memories, which they would keep (an idle isolate
   * does not collect garbage) if the team were kept for the next run.
   */
  static start(threads: number): ThreadTeam {
    const helpers: Worker[] = [];
    for (let h = 0; h < threads - 1; h++) helpers.push(startThread(new URL('./teamThread.ts', import.meta.url)));
    return new ThreadTeam(helpers);
  }

  /** Stops the helpers, whatever they are doing (lockstep loops must have been stopped first). */
  async close(): Promise<void> {
    this.pending.clear();
    await Promise.all(this.helpers.map((worker) => worker.terminate()));
  }

  get size(): number {
    return this.helpers.length + 1;
  }

  /**
   * Sends `request` to every helper; the promises of their replies. (A helper asked to serve
   * lockstep rounds replies when the coordinator's Lockstep stops it.)
   */
  callEach<T>(request: HelperRequest): Promise<T>[] {
    return this.helpers.map((_, helper) => this.call<T>(helper, request));
  }

  private call<T>(helper: number, request: HelperRequest): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (reply: unknown) => void, reject });
      this.helpers[helper].postMessage({ id, request } satisfies Envelope);
    });
  }
}

/** A Float64Array of `length` zeros on a SharedArrayBuffer, for a team to share. */
export function sharedFloat64(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(8 * length));
}

/**
 * Runs body(unit) for units claimed from counter[0] (shared, starting at 0) until all `units` are
 * claimed, counting each finished one in counter[1].
 */
export function workOnClaims(counter: Int32Array, units: number, body: (unit: number) => void): void {
  for (let unit = Atomics.add(counter, 0, 1); unit < units; unit = Atomics.add(counter, 0, 1)) {
    body(unit);
    Atomics.add(counter, 1, 1);
    Atomics.notify(counter, 1);
  }
}

/** Waits until all `units` of a workOnClaims counter are finished, by whichever threads. */
export function awaitClaims(counter: Int32Array, units: number): void {
  for (let done = Atomics.load(counter, 1); done < units; done = Atomics.load(counter, 1)) Atomics.wait(counter, 1, done);
}

const GENERATION = 0;
/** round * UNIT_LIMIT + the next unit to claim in that round. */
const CLAIM = 1;
const DONE = 2;
const STOP = 3;
/** Int32 slots of a lockstep control block. */
export const LOCKSTEP_SLOTS = 4;
/** Units per round are fewer than this. */
export const UNIT_LIMIT = 64;

/**
 * Coordinator side of lockstep rounds: each `round` opens its work units for claiming, wakes the
 * helpers, works (claiming units) itself, and returns once every unit is done.
 */
export class Lockstep {
  private generation = 0;

  constructor(private readonly control: Int32Array) {}

  round(units: number, work: (round: number) => void): void {
    if (units >= UNIT_LIMIT) throw new RangeError(`at most ${UNIT_LIMIT - 1} units per round, got ${units}`);
    const round = ++this.generation;
    Atomics.store(this.control, DONE, 0);
    Atomics.store(this.control, CLAIM, round * UNIT_LIMIT);
    Atomics.store(this.control, GENERATION, round);
    Atomics.notify(this.control, GENERATION);
    work(round);
    for (let done = Atomics.load(this.control, DONE); done < units; done = Atomics.load(this.control, DONE)) {
      Atomics.wait(this.control, DONE, done);
    }
  }

  /** Releases the helpers from their loops. */
  stop(): void {
    Atomics.store(this.control, STOP, 1);
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
  }
}

/**
 * The next unit of `round` for the calling thread, or -1 when every unit is claimed or the round
 * is over (a helper that woke late must not touch the next round with data of this one).
 */
export function claimUnit(control: Int32Array, round: number, units: number): number {
  for (;;) {
    const claim = Atomics.load(control, CLAIM);
    const unit = claim - round * UNIT_LIMIT;
    if (unit < 0 || unit >= units) return -1;
    if (Atomics.compareExchange(control, CLAIM, claim, claim + 1) === claim) return unit;
  }
}

/** Marks a claimed unit done (its results written). */
export function finishUnit(control: Int32Array): void {
  Atomics.add(control, DONE, 1);
  Atomics.notify(control, DONE);
}

/**
 * Helper side: runs `work` for each round until the coordinator stops. The control block starts
 * at generation 0, so a round opened before the helper got here is not missed.
 */
export function serveLockstep(control: Int32Array, work: (round: number) => void): void {
  let seen = 0;
  for (;;) {
    Atomics.wait(control, GENERATION, seen);
    seen = Atomics.load(control, GENERATION);
    if (Atomics.load(control, STOP) === 1) return;
    work(seen);
  }
}
