/**
 * Where workers and clients find Temporal, from the environment, so the same code runs against
 * the local dev server or a real cluster (see README: "A real Temporal cluster").
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConnectionOptions } from '@temporalio/client';
import type { TaskQueues } from '../workflows/pruneDataset.js';

export interface TemporalConfig {
  address: string;
  namespace: string;
  tls: ConnectionOptions['tls'];
  taskQueues: TaskQueues;
  /** Shared artifact root: a path every worker host sees the same way. */
  artifactRoot: string;
}

/** The task queues when SLS_GPU_QUEUE / SLS_CPU_QUEUE are not set. */
export const DEFAULT_TASK_QUEUES: TaskQueues = { gpu: 'sls-gpu', cpu: 'sls-cpu' };

function tlsFromEnv(env: NodeJS.ProcessEnv): ConnectionOptions['tls'] {
  const cert = env.SLS_TEMPORAL_TLS_CERT;
  const key = env.SLS_TEMPORAL_TLS_KEY;
  const ca = env.SLS_TEMPORAL_TLS_CA;
  if (!cert && !key && !ca && env.SLS_TEMPORAL_TLS !== '1') return undefined;
  return {
    serverRootCACertificate: ca ? readFileSync(ca) : undefined,
    clientCertPair: cert && key ? { crt: readFileSync(cert), key: readFileSync(key) } : undefined,
  };
}

export function temporalConfig(env: NodeJS.ProcessEnv = process.env): TemporalConfig {
  return {
    address: env.SLS_TEMPORAL_ADDRESS ?? `127.0.0.1:${env.SLS_TEMPORAL_PORT ?? '7233'}`,
    namespace: env.SLS_TEMPORAL_NAMESPACE ?? 'default',
    tls: tlsFromEnv(env),
    taskQueues: {
      gpu: env.SLS_GPU_QUEUE ?? DEFAULT_TASK_QUEUES.gpu,
      cpu: env.SLS_CPU_QUEUE ?? DEFAULT_TASK_QUEUES.cpu,
    },
    artifactRoot: resolve(env.SLS_ARTIFACT_ROOT ?? '.sls/artifacts'),
  };
}
