import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type DevServerConfig, TestWorkflowEnvironment } from '@temporalio/testing';
import { installLogging } from '../../workers/create.js';
import { ALPHA, DATASET, KEPT_LAYERS, STAGE, SWEEP } from '../../workflows/searchAttributes.js';

const TEMPORAL_SCRIPT = fileURLToPath(new URL('../../infra/temporal.sh', import.meta.url));

/**
 * A real Temporal dev server (the CLI that infra/setup.sh installed), on free ports, with the
 * project's search attributes: the tests never mock the server.
 */
export async function startTemporal(server: Partial<DevServerConfig> = {}): Promise<TestWorkflowEnvironment> {
  // Worker state changes and expected activity failures would drown the test report.
  installLogging('WARN');
  const path = execFileSync('bash', [TEMPORAL_SCRIPT, 'path'], { encoding: 'utf8' }).trim();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path },
      searchAttributes: [DATASET, SWEEP, STAGE, ALPHA, KEPT_LAYERS],
      ...server,
    },
  });
}
