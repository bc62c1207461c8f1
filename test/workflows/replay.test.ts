import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { installLogging, workflowSource } from '../../workers/create.js';
import { FIXTURES } from '../helpers/fixtures.js';

const HISTORIES = join(FIXTURES, 'histories');

/**
 * Histories recorded from real runs (test/fixtures/record_histories.ts), replayed against today's
 * workflow code: a change that would make a running workflow take other steps fails here, not in
 * a user's sweep. Replay needs no server.
 */
installLogging('WARN');

describe('workflow replay', () => {
  const files = readdirSync(HISTORIES).filter((name) => name.endsWith('.json'));

  it('has a recorded history of each workflow', () => {
    // Today's histories, and those recorded before emit went once per kept depth (patched()).
    const recorded = ['pruneDataset', 'sweep-first', 'sweep-last'];
    expect(files.sort()).toEqual(
      [...recorded.map((name) => `${name}.before-emit-per-depth.json`), ...recorded.map((name) => `${name}.json`)].sort(),
    );
  });

  for (const file of files) {
    it(`replays ${file} without a determinism violation`, async () => {
      const history = JSON.parse(readFileSync(join(HISTORIES, file), 'utf8'));
      await Worker.runReplayHistory(workflowSource(), history);
    });
  }
});
