/** What the benchmarks measure with: medians, this process's CPU time, a run's activities from its workflow history. */
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { TemporalConfig } from '../workers/config.js';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** CPU seconds (user + system) of this process, its worker threads included, since `since`. */
export function cpuSeconds(since?: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

/** One activity of a run, times in ms since the epoch. */
export interface ActivitySpan {
  type: string;
  input: unknown;
  scheduled: number;
  started: number;
  closed: number;
}

export interface RunHistory {
  /** In the order they were scheduled. */
  spans: ActivitySpan[];
  workflowStart: number;
  workflowEnd: number;
}

const ms = (time: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  Number(time?.seconds ?? 0) * 1000 + (time?.nanos ?? 0) / 1e6;

/** Each activity's scheduled, started and closed times (the last attempt's), read from the workflow's history. */
export async function activityHistory(config: TemporalConfig, workflowId: string, runId: string): Promise<RunHistory> {
  const connection = await Connection.connect({ address: config.address, tls: config.tls });
  const history = await new Client({ connection, namespace: config.namespace }).workflow.getHandle(workflowId, runId).fetchHistory();
  await connection.close();
  const spans = new Map<number, ActivitySpan>();
  const spanOf = (scheduledEventId: unknown): ActivitySpan => {
    const span = spans.get(Number(scheduledEventId));
    if (span === undefined) throw new Error(`the history has no activity scheduled as event ${scheduledEventId}`);
    return span;
  };
  let [workflowStart, workflowEnd] = [0, 0];
  for (const event of history.events ?? []) {
    const at = ms(event.eventTime);
    workflowStart ||= at;
    workflowEnd = at;
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      spans.set(Number(event.eventId), {
        type: scheduled.activityType?.name ?? '?',
        input: defaultPayloadConverter.fromPayload(scheduled.input?.payloads?.[0] ?? {}),
        scheduled: at,
        started: at,
        closed: at,
      });
    }
    const started = event.activityTaskStartedEventAttributes;
    if (started) spanOf(started.scheduledEventId).started = at;
    const closed =
      event.activityTaskCompletedEventAttributes ?? event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes;
    if (closed) spanOf(closed.scheduledEventId).closed = at;
  }
  return { spans: [...spans.values()].sort((a, b) => a.scheduled - b.scheduled), workflowStart, workflowEnd };
}

/** Seconds that activities of each type ran (started to closed), summed. */
export function secondsByActivityType(spans: readonly ActivitySpan[]): Map<string, number> {
  const byType = new Map<string, number>();
  for (const span of spans) byType.set(span.type, (byType.get(span.type) ?? 0) + (span.closed - span.started) / 1000);
  return byType;
}
