import { describe, expect, it } from 'vitest';
import { busyOn, QuietHost } from '../../lib/quietHost.js';

/** A promise and the function that resolves it: work that ends when the test says so. */
function gate(): { done: Promise<void>; open: () => void } {
  let open!: () => void;
  const done = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { done, open };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('QuietHost', () => {
  it('runs busy work side by side, and a measurement only once none runs', async () => {
    const host = new QuietHost();
    const log: string[] = [];
    const first = gate();
    const second = gate();
    const a = host.busy(async () => {
      log.push('a starts');
      await first.done;
      log.push('a ends');
    });
    const b = host.busy(async (turn) => {
      log.push('b starts');
      await second.done;
      await turn.alone(async () => {
        log.push(`measure: ${JSON.stringify(host.state)}`);
      });
      log.push('b ends');
    });
    await tick();
    expect(host.state).toEqual({ busy: 2, alone: false, waiting: 0 });
    second.open();
    await tick();
    // b gave up its hold and waits for a.
    expect(host.state).toEqual({ busy: 1, alone: false, waiting: 1 });
    expect(log).toEqual(['a starts', 'b starts']);
    first.open();
    await Promise.all([a, b]);
    expect(log).toEqual(['a starts', 'b starts', 'a ends', 'measure: {"busy":0,"alone":true,"waiting":0}', 'b ends']);
    expect(host.state).toEqual({ busy: 0, alone: false, waiting: 0 });
  });

  it('holds busy work that arrives after a waiting measurement back until it is done (no starvation)', async () => {
    const host = new QuietHost();
    const log: string[] = [];
    const running = gate();
    const measuring = gate();
    const tsne = host.busy(() => running.done);
    const emit = host.busy((turn) =>
      turn.alone(async () => {
        log.push('measure starts');
        await measuring.done;
        log.push('measure ends');
      }),
    );
    await tick();
    const later = host.busy(async () => {
      log.push('later work');
    });
    await tick();
    expect(host.state).toEqual({ busy: 1, alone: false, waiting: 2 });
    running.open();
    await tick();
    await tick();
    expect(log).toEqual(['measure starts']);
    expect(host.state).toEqual({ busy: 0, alone: true, waiting: 1 });
    measuring.open();
    await Promise.all([tsne, emit, later]);
    expect(log).toEqual(['measure starts', 'measure ends', 'later work']);
  });

  it('stops waiting when aborted, lets the work queued behind go on, and reports while waiting', async () => {
    const host = new QuietHost();
    const running = gate();
    const tsne = host.busy(() => running.done);
    const abort = new AbortController();
    let reports = 0;
    const emit = host.busy((turn) =>
      turn.alone(async () => 'measured', { signal: abort.signal, onWaiting: () => reports++, reportEveryMs: 10 }),
    );
    await tick();
    const later = host.busy(async () => 'later');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(reports).toBeGreaterThanOrEqual(3);
    abort.abort(new Error('cancelled'));
    await expect(emit).rejects.toThrow('cancelled');
    // The measurement left the queue: the busy work behind it runs beside the t-SNE.
    await expect(later).resolves.toBe('later');
    const seen = reports;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(reports).toBe(seen);
    running.open();
    await tsne;
    expect(host.state).toEqual({ busy: 0, alone: false, waiting: 0 });
  });

  it('releases its hold when the work fails', async () => {
    const host = new QuietHost();
    await expect(host.busy(() => Promise.reject(new Error('bad input')))).rejects.toThrow('bad input');
    await expect(host.busy((turn) => turn.alone(() => Promise.reject(new Error('no session'))))).rejects.toThrow('no session');
    expect(host.state).toEqual({ busy: 0, alone: false, waiting: 0 });
  });
});

describe('busyOn', () => {
  it('runs work and measurements directly where there is no host', async () => {
    await expect(busyOn(undefined, (turn) => turn.alone(async () => 42))).resolves.toBe(42);
  });
});
