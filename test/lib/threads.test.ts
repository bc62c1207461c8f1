import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { startThread } from '../../lib/threads.js';
import { temporaryDir } from '../helpers/fixtures.js';

/** The first message the worker posts, and its exit code once it ends (an error in it rejects). */
async function firstMessageAndExit(worker: Worker): Promise<{ message: unknown; exitCode: number }> {
  // Both listeners from the start: a worker that exits at once may do so before a later one is added.
  const [[message], [exitCode]] = await Promise.all([once(worker, 'message'), once(worker, 'exit')]);
  return { message, exitCode };
}

describe('startThread', () => {
  it('runs a JavaScript module with the data as its workerData, the entry added', async () => {
    const entry = join(temporaryDir(), 'echo.mjs');
    writeFileSync(entry, "import { parentPort, workerData } from 'node:worker_threads';\nparentPort.postMessage(workerData);\n");
    const url = pathToFileURL(entry);
    const { message, exitCode } = await firstMessageAndExit(startThread(url, { seed: 7, rows: [1, 2, 3], source: 'layer-01.arrow' }));
    expect(message).toEqual({ seed: 7, rows: [1, 2, 3], source: 'layer-01.arrow', entry: url.href });
    expect(exitCode).toBe(0);
  });

  it('runs a TypeScript source through tsx, with only the entry as workerData by default', async () => {
    // The type annotation and the non-null assertion are not JavaScript: the module runs only if transpiled.
    const dir = temporaryDir();
    // An ES module, as this package's sources are (package.json "type": "module").
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    const entry = join(dir, 'echo.ts');
    writeFileSync(
      entry,
      "import { parentPort, workerData } from 'node:worker_threads';\nconst data: Record<string, unknown> = workerData;\nparentPort!.postMessage({ ...data, typed: true });\n",
    );
    const url = pathToFileURL(entry);
    const { message, exitCode } = await firstMessageAndExit(startThread(url));
    expect(message).toEqual({ entry: url.href, typed: true });
    expect(exitCode).toBe(0);
  });
});
