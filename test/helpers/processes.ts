/** Worker processes and ports for the tests and benches that kill and restart real processes. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { TemporalConfig } from '../../workers/config.js';
import { SLS } from './cli.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** `sls worker ROLE` as its own process, configured through the environment as on a real host. */
export function startWorkerProcess(role: 'gpu' | 'cpu' | 'all', config: TemporalConfig): ChildProcess {
  return spawn('node', [SLS, 'worker', role], {
    env: {
      ...process.env,
      SLS_TEMPORAL_ADDRESS: config.address,
      SLS_CPU_QUEUE: config.taskQueues.cpu,
      SLS_GPU_QUEUE: config.taskQueues.gpu,
      SLS_ARTIFACT_ROOT: config.artifactRoot,
      SLS_LOG_LEVEL: 'ERROR',
    },
    stdio: 'ignore',
  });
}

/** SIGKILL, as a crash or the OOM killer would; resolves once the process is gone. */
export function killProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
