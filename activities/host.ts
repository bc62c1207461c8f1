/** How activities share the worker's host (lib/quietHost.ts), heartbeating while they wait for a turn. */
import { Context } from '@temporalio/activity';
import { type BusyTurn, busyOn, type QuietHost, type WaitOptions } from '../lib/quietHost.js';

/** What a worker gives its activities besides their input. */
export interface HostSettings {
  /** The worker's host: busy work and speed measurements of all its activities take turns on it. */
  host?: QuietHost;
}

/** Waits that end on cancellation and heartbeat meanwhile, so that a long wait is not a lost worker. */
function hostWait(context: Context): WaitOptions {
  return { signal: context.cancellationSignal, onWaiting: () => context.heartbeat({ step: 'waiting for the host' }) };
}

/** Runs the current activity's `work` as busy work on the worker's host. */
export function onHost<T>(settings: HostSettings, work: (turn: BusyTurn) => Promise<T>): Promise<T> {
  return busyOn(settings.host, work, hostWait(Context.current()));
}
