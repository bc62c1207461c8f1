/**
 * A team of helper threads: the calling thread is member 0 (the coordinator), each helper a
 * worker thread running an entry module that serves requests (serveTeam). Helpers take
 * asynchronous jobs by message and lockstep rounds through a SharedArrayBuffer (where a message
 * round trip per round would cost more than it saves). In both, work units are claimed from a
 * shared counter, so a helper that is still starting, or a core busy elsewhere, only slows the
 * run down; callers make their results independent of who did which unit.
 *
 * A helper that dies (a crash, process.exit, running out of memory) fails the team instead of
 * leaving the coordinator waiting for units nobody will finish. The coordinator cannot learn of
 * it by itself while it blocks in Atomics.wait, so the helpers are the children of a supervisor
 * thread (teamSupervisor.mjs), whose event loop stays free: it writes the failure into the
 * team's shared status, which every blocking wait here reads at least every WAIT_SLICE_MS, and
 * reports it by message, which rejects the pending calls.
 */
import { MessageChannel, type MessagePort, Worker, workerData } from 'node:worker_threads';

/** A request as it travels: with the id its reply carries back. */
interface Envelope<Request> {
  id: number;
  request: Request;
}

/** What a helper's handler returns: the reply and the buffers to move (not copy) with it. */
export interface HelperReply {
  reply: unknown;
  transfer?: ArrayBuffer[];
}

/** A helper thread died: a resource failure (retrying, on this machine or another, may succeed). */
export class HelperThreadError extends Error {
  override name = 'HelperThreadError';
}

/** Longest a blocking wait goes without looking at the team's status. */
const WAIT_SLICE_MS = 50;
/** Int32 slots of the status: FAILED (0 or 1), then the length of the UTF-8 reason that follows. */
const FAILED = 0;
const REASON_LENGTH = 1;
const STATUS_HEADER_BYTES = 8;
const REASON_BYTES = 2048;

export class ThreadTeam<Request> {
  private nextId = 0;
  private failure: Error | undefined;
  private readonly pending = new Map<number, { resolve(reply: unknown): void; reject(error: Error): void }>();

  private constructor(
    private readonly supervisor: Worker | undefined,
    private readonly ports: MessagePort[],
    private readonly status: Int32Array,
  ) {
    for (const port of ports) {
      port.on('message', ({ id, reply }: { id: number; reply: unknown }) => {
        this.pending.get(id)?.resolve(reply);
        this.pending.delete(id);
      });
    }
    supervisor?.on('message', () => this.fail(this.statusFailure()));
    supervisor?.on('error', (error) => this.fail(new HelperThreadError(`the helper threads' supervisor failed: ${error.message}`)));
    supervisor?.on('exit', (code) => this.fail(new HelperThreadError(`the helper threads' supervisor exited (code ${code})`)));
  }

  /**
   * A team of `threads` members: the caller and threads - 1 helpers, each running the module at
   * `entry` (which calls serveTeam). A team lives for one run: its helpers' isolates hold the
   * run's shared memories, which they would keep (an idle isolate does not collect garbage) if
   * the team were kept for the next run.
   */
  static start<Request>(threads: number, entry: URL): ThreadTeam<Request> {
    const status = new Int32Array(new SharedArrayBuffer(STATUS_HEADER_BYTES + REASON_BYTES));
    if (threads <= 1) return new ThreadTeam<Request>(undefined, [], status);
    const channels = Array.from({ length: threads - 1 }, () => new MessageChannel());
    const helperPorts = channels.map((channel) => channel.port2);
    const supervisor = new Worker(new URL('./teamSupervisor.mjs', import.meta.url), {
      workerData: { loader: new URL('../../thread.mjs', import.meta.url).href, entry: entry.href, ports: helperPorts, status },
      transferList: helperPorts,
    });
    return new ThreadTeam<Request>(
      supervisor,
      channels.map((channel) => channel.port1),
      status,
    );
  }

  /** Stops the helpers, whatever they are doing (lockstep loops must have been stopped first). */
  async close(): Promise<void> {
    this.failure ??= new HelperThreadError('the team is closed');
    this.pending.clear();
    for (const port of this.ports) port.close();
    if (this.supervisor) {
      this.supervisor.removeAllListeners();
      // Its child threads, the helpers, end with it.
      await this.supervisor.terminate();
    }
  }

  get size(): number {
    return this.ports.length + 1;
  }

  /**
   * Sends `request` to every helper; the promises of their replies, which reject if a helper
   * dies. (A helper asked to serve lockstep rounds replies when the coordinator's Lockstep stops
   * it.) A caller need not wait for them: a failure is kept, and the next wait throws it.
   */
  callEach<T>(request: Request): Promise<T>[] {
    return this.ports.map((port) => {
      const id = this.nextId++;
      const reply = new Promise<T>((resolve, reject) => {
        if (this.failure) return reject(this.failure);
        this.pending.set(id, { resolve: resolve as (reply: unknown) => void, reject });
        port.postMessage({ id, request } satisfies Envelope<Request>);
      });
      // Kept for throwIfFailed (and so never an unhandled rejection).
      reply.catch(() => undefined);
      return reply;
    });
  }

  /** Throws the team's failure, if a helper has died. */
  throwIfFailed(): void {
    if (Atomics.load(this.status, FAILED) === 1) this.fail(this.statusFailure());
    if (this.failure) throw this.failure;
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  private statusFailure(): HelperThreadError {
    const length = Atomics.load(this.status, REASON_LENGTH);
    const reason = Buffer.from(this.status.buffer, STATUS_HEADER_BYTES, length).toString('utf8');
    return new HelperThreadError(`a helper thread of the team died: ${reason}`);
  }
}

/**
 * Helper side of a team, in the entry module: answers each request with `handle`'s reply. A
 * request whose handler throws ends the helper, and so fails the team.
 */
export function serveTeam<Request>(handle: (request: Request) => HelperReply): void {
  const port = (workerData as { port: MessagePort }).port;
  port.on('message', ({ id, request }: Envelope<Request>) => {
    const { reply, transfer = [] } = handle(request);
    port.postMessage({ id, reply }, transfer);
  });
}

/** A Float64Array of `length` zeros on a SharedArrayBuffer, for a team to share. */
export function sharedFloat64(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(8 * length));
}

/**
 * Waits while slot `index` of `control` holds `value` (or until notified), looking at the team's
 * status every WAIT_SLICE_MS: throws if a helper has died.
 */
function waitWhile(control: Int32Array, index: number, value: number, team: ThreadTeam<unknown> | undefined): void {
  if (!team) {
    Atomics.wait(control, index, value);
    return;
  }
  while (Atomics.wait(control, index, value, WAIT_SLICE_MS) === 'timed-out') team.throwIfFailed();
  team.throwIfFailed();
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

/**
 * Waits until all `units` of a workOnClaims counter are finished, by whichever threads of
 * `team`; throws if one of them died.
 */
export function awaitClaims(counter: Int32Array, units: number, team?: ThreadTeam<unknown>): void {
  for (let done = Atomics.load(counter, 1); done < units; done = Atomics.load(counter, 1)) waitWhile(counter, 1, done, team);
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

/** A new lockstep control block. */
export function lockstepControl(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * LOCKSTEP_SLOTS));
}

/**
 * Coordinator side of lockstep rounds: each `round` opens its work units for claiming, wakes the
 * helpers of `team`, works (claiming units) itself, and returns once every unit is done; it
 * throws if a helper has died.
 */
export class Lockstep {
  private generation = 0;

  constructor(
    private readonly control: Int32Array,
    private readonly team?: ThreadTeam<unknown>,
  ) {}

  round(units: number, work: (round: number) => void): void {
    if (units >= UNIT_LIMIT) throw new RangeError(`at most ${UNIT_LIMIT - 1} units per round, got ${units}`);
    this.team?.throwIfFailed();
    const round = ++this.generation;
    Atomics.store(this.control, DONE, 0);
    Atomics.store(this.control, CLAIM, round * UNIT_LIMIT);
    Atomics.store(this.control, GENERATION, round);
    Atomics.notify(this.control, GENERATION);
    work(round);
    for (let done = Atomics.load(this.control, DONE); done < units; done = Atomics.load(this.control, DONE)) {
      waitWhile(this.control, DONE, done, this.team);
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
 * Sets the helpers of `team` serving the lockstep rounds of `control` with `request` (they reply
 * once stopped; a failure surfaces in the rounds) and returns the coordinator's side.
 */
export function startLockstep<Request>(team: ThreadTeam<Request> | undefined, request: Request, control: Int32Array): Lockstep {
  team?.callEach(request);
  return new Lockstep(control, team);
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
  for (let rounds = 1; ; rounds++) {
    Atomics.wait(control, GENERATION, seen);
    seen = Atomics.load(control, GENERATION);
    if (Atomics.load(control, STOP) === 1) return;
    if (rounds === EXIT_ON_ROUND) {
      // Dies holding a claimed unit, as a crash mid-round would.
      claimUnit(control, seen, UNIT_LIMIT - 1);
      process.exit(FAULT_EXIT_CODE);
    }
    work(seen);
  }
}

/**
 * Fault injection, for the tests of a helper's death (never set in production): a helper
 * serving lockstep rounds exits with FAULT_EXIT_CODE on this round of its loop.
 */
const EXIT_ON_ROUND = Number(process.env.SLS_FAULT_HELPER_EXIT_ON_ROUND ?? 0);
export const FAULT_EXIT_CODE = 70;
