/**
 * Once per test run: the workflow code bundled a single time for every worker the tests start,
 * in-process or as child processes (they inherit SLS_WORKFLOW_BUNDLE), instead of once each.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

export default async function setup(): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'sls-workflow-bundle-'));
  const codePath = join(dir, 'workflows.js');
  const { code } = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
    logger: new DefaultLogger('WARN'),
  });
  writeFileSync(codePath, code);
  process.env.SLS_WORKFLOW_BUNDLE = codePath;
  return () => rmSync(dir, { recursive: true, force: true });
}
