import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { type EmitInput, type EmitResult, emitPrunedCheckpoint } from '../../activities/emit.js';
import { decideCut } from '../../lib/decide/cutRule.js';
import { QuietHost } from '../../lib/quietHost.js';
import { MODEL, TEST_SPLIT, TRAIN, temporaryDir } from '../helpers/fixtures.js';

interface Progress {
  step: string;
  rowsDone: number;
  rowsTotal: number;
}

describe('emitPrunedCheckpoint', () => {
  it('heartbeats through the accuracy and speed passes, and rebuilds a checkpoint whose shared tensor is damaged', async () => {
    const scores = [0.05, 0.1, 0.3, 0.4, 0.45, 0.5];
    const input = {
      model: MODEL,
      data: TRAIN,
      evalData: TEST_SPLIT,
      artifactRoot: temporaryDir(),
      decisions: [decideCut(scores, 0.3)!],
      scores,
    };
    const heartbeats: Progress[] = [];
    const environment = new MockActivityEnvironment();
    environment.on('heartbeat', (details: Progress) => heartbeats.push(details));
    const emit = (emitInput: EmitInput) => environment.run(emitPrunedCheckpoint, emitInput) as Promise<EmitResult>;
    const first = await emit(input);
    expect(first.reused).toBe(false);

    const last = (step: string) => heartbeats.filter((beat) => beat.step === step).at(-1);
    // The held-out split has 797 rows, the train split 1,000; each pass reports up to its last row.
    for (const step of ['accuracy (full)', 'accuracy (pruned, old head)', 'accuracy (pruned, refit head)']) {
      expect(heartbeats.filter((beat) => beat.step === step).length).toBeGreaterThan(1);
      expect(last(step)).toEqual({ step, rowsDone: 797, rowsTotal: 797 });
    }
    // By default 3 warm-up rounds, then timed rounds up to 20 or, after 5, until 30 s are spent:
    // every round heartbeats, out of the 23 it might take.
    const { speed } = JSON.parse(readFileSync(first.manifestFile, 'utf8'));
    expect(speed.limits).toEqual({ maxRepeats: 20, minRepeats: 5, budgetSeconds: 30 });
    expect(heartbeats.filter((beat) => beat.step === 'speed')).toEqual(
      Array.from({ length: 3 + speed.repeats }, (_, i) => ({ step: 'speed', rowsDone: i + 1, rowsTotal: 23 })),
    );
    expect(heartbeats.map((beat) => beat.step).indexOf('head refit')).toBeGreaterThan(0);

    // The second run reuses it whole; then a shared tensor is damaged: rebuilt, and the tensor repaired.
    expect((await emit(input)).reused).toBe(true);
    const tensors = join(first.storeDir, 'tensors');
    const [victim] = readdirSync(tensors);
    const bytes = readFileSync(join(tensors, victim));
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(join(tensors, victim), bytes);
    const rebuilt = await emit(input);
    expect(rebuilt.reused).toBe(false);
    expect(rebuilt.checkpoint).toBe(first.checkpoint);
    expect(
      createHash('sha256')
        .update(readFileSync(join(tensors, victim)))
        .digest('hex'),
    ).toBe(victim);
    expect((await emit(input)).reused).toBe(true);
  }, 300_000);

  it('times the models only once no other work runs on the worker, and holds new work back meanwhile', async () => {
    const scores = [0.05, 0.1, 0.3, 0.4, 0.45, 0.5];
    const input = { model: MODEL, data: TRAIN, artifactRoot: temporaryDir(), decisions: [decideCut(scores, 0.6)!], scores };
    const host = new QuietHost();
    // A t-SNE of another dataset, running on the same worker until the test ends it.
    let endTsne!: () => void;
    const tsne = host.busy(() => new Promise<void>((resolve) => (endTsne = resolve)));
    const steps: string[] = [];
    // What else ran on the host at each speed round.
    const besideSpeed: string[] = [];
    const environment = new MockActivityEnvironment();
    environment.on('heartbeat', (details: Progress) => {
      steps.push(details.step);
      if (details.step === 'speed') besideSpeed.push(JSON.stringify(host.state));
    });
    const emitting = environment.run(emitPrunedCheckpoint, input, { host }) as Promise<EmitResult>;
    const until = async (condition: () => boolean) => {
      for (let waited = 0; !condition(); waited += 20) {
        if (waited > 120_000) throw new Error(`timed out waiting; host ${JSON.stringify(host.state)}, steps ${steps.join(', ')}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    // The refit ran beside the t-SNE; the speed rounds wait for it to end.
    await until(() => host.state.waiting === 1);
    expect(steps).toContain('head refit');
    expect(steps).not.toContain('speed');
    // Work asked for after the measurement (a t-SNE of a third dataset) waits for it.
    let speedRoundsBeforeLater = -1;
    const later = host.busy(async () => {
      speedRoundsBeforeLater = besideSpeed.length;
    });
    endTsne();
    await tsne;
    const result = await emitting;
    await later;
    expect(result.speed.latencySpeedup).toBeGreaterThan(0);
    expect(besideSpeed.length).toBeGreaterThanOrEqual(8); // 3 warm-up rounds and at least 5 timed
    expect(new Set(besideSpeed)).toEqual(new Set([JSON.stringify({ busy: 0, alone: true, waiting: 1 })]));
    expect(speedRoundsBeforeLater).toBe(besideSpeed.length);
    expect(host.state).toEqual({ busy: 0, alone: false, waiting: 0 });
  }, 300_000);
});
