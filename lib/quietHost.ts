/**
 * Work that loads a host's cores (a t-SNE, a forward pass, a head refit) and measurements that
 * must have the host to themselves (emit's speed rounds: a t-SNE beside them would time the
 * t-SNE's interference, not the model). A readers-writer lock within one process: any number of
 * `busy` holds at once, or one `alone` measurement and nothing else. Turns are granted in the
 * order they were asked for, so a waiting measurement is not starved by busy work that keeps
 * arriving: work asked for after it waits until it is done.
 */

export interface WaitOptions {
  /** Gives up waiting (rejecting with the signal's reason) when aborted, e.g. on cancellation. */
  signal?: AbortSignal;
  /** Called every `reportEveryMs` while waiting for a turn (to heartbeat, for instance). */
  onWaiting?: () => void;
  reportEveryMs?: number;
}

/** A busy hold in progress: its work may ask for the host alone for a while. */
export interface BusyTurn {
  /**
   * Runs `measure` with the host to itself: gives up this hold, waits until no other work runs,
   * measures, then takes a busy hold again before returning.
   */
  alone<T>(measure: () => Promise<T>, wait?: WaitOptions): Promise<T>;
}

type Kind = 'busy' | 'alone';

interface Waiter {
  kind: Kind;
  grant(): void;
}

const DEFAULT_REPORT_MS = 5000;

export class QuietHost {
  private busyHolds = 0;
  private aloneRunning = false;
  private readonly waiting: Waiter[] = [];

  /** Runs `work` as busy work: never beside an `alone` measurement. */
  async busy<T>(work: (turn: BusyTurn) => Promise<T>, wait: WaitOptions = {}): Promise<T> {
    await this.acquire('busy', wait);
    let held = true;
    const turn: BusyTurn = {
      alone: async (measure, aloneWait = wait) => {
        this.release('busy');
        held = false;
        try {
          await this.acquire('alone', aloneWait);
          try {
            return await measure();
          } finally {
            this.release('alone');
          }
        } finally {
          await this.acquire('busy', aloneWait);
          held = true;
        }
      },
    };
    try {
      return await work(turn);
    } finally {
      if (held) this.release('busy');
    }
  }

  /** Busy holds in progress and whether a measurement runs (for tests and logs). */
  get state(): { busy: number; alone: boolean; waiting: number } {
    return { busy: this.busyHolds, alone: this.aloneRunning, waiting: this.waiting.length };
  }

  private canStart(kind: Kind): boolean {
    return kind === 'busy' ? !this.aloneRunning : !this.aloneRunning && this.busyHolds === 0;
  }

  private start(kind: Kind): void {
    if (kind === 'busy') this.busyHolds++;
    else this.aloneRunning = true;
  }

  private acquire(kind: Kind, { signal, onWaiting, reportEveryMs = DEFAULT_REPORT_MS }: WaitOptions): Promise<void> {
    signal?.throwIfAborted();
    if (this.waiting.length === 0 && this.canStart(kind)) {
      this.start(kind);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const timer = onWaiting ? setInterval(onWaiting, reportEveryMs) : undefined;
      const settle = () => {
        clearInterval(timer);
        signal?.removeEventListener('abort', abort);
      };
      const waiter: Waiter = {
        kind,
        grant: () => {
          settle();
          resolve();
        },
      };
      const abort = () => {
        settle();
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        // The head of the queue may now be able to start (busy work queued behind this measurement).
        this.dispatch();
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', abort, { once: true });
      this.waiting.push(waiter);
    });
  }

  private release(kind: Kind): void {
    if (kind === 'busy') this.busyHolds--;
    else this.aloneRunning = false;
    this.dispatch();
  }

  /** Grants turns from the head of the queue while they can start (FIFO: none overtakes another). */
  private dispatch(): void {
    while (this.waiting.length > 0 && this.canStart(this.waiting[0].kind)) {
      const waiter = this.waiting.shift() as Waiter;
      this.start(waiter.kind);
      waiter.grant();
    }
  }
}

/** A turn on no host (an offline command, a test): measurements run as they come. */
const UNSHARED_TURN: BusyTurn = { alone: (measure) => measure() };

/** `work` as busy work on `host`, or directly where there is none. */
export function busyOn<T>(host: QuietHost | undefined, work: (turn: BusyTurn) => Promise<T>, wait?: WaitOptions): Promise<T> {
  return host ? host.busy(work, wait) : work(UNSHARED_TURN);
}
