import type { LogLevel, Worker } from '@temporalio/worker';
import { type TemporalConfig, temporalConfig } from './config.js';
import { connect, createCpuWorker, createGpuWorker, installLogging } from './create.js';

export type WorkerRole = 'gpu' | 'cpu' | 'all';

/** Runs the workers of a role until SIGINT/SIGTERM (the SDK installs those handlers). */
export async function runWorkers(role: WorkerRole, config: TemporalConfig = temporalConfig()): Promise<void> {
  installLogging((process.env.SLS_LOG_LEVEL ?? 'INFO') as LogLevel);
  const connection = await connect(config);
  const workers: Worker[] = [];
  if (role !== 'cpu') workers.push(await createGpuWorker(connection, config));
  if (role !== 'gpu') workers.push(await createCpuWorker(connection, config));
  console.error(
    `sls worker (${role}) polling ${workers.map((w) => w.options.taskQueue).join(', ')} on ${config.address}/${config.namespace}`,
  );
  try {
    await Promise.all(workers.map((worker) => worker.run()));
  } finally {
    await connection.close();
  }
}
