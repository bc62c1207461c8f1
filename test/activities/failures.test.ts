import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { failFastOnBadInput } from '../../activities/failures.js';
import { InputError } from '../../lib/errors.js';

/** What an activity throws, run the way a worker runs it. */
async function thrownBy(body: () => Promise<unknown>): Promise<unknown> {
  return new MockActivityEnvironment()
    .run(() => failFastOnBadInput(body))
    .then(
      () => null,
      (error: unknown) => error,
    );
}

describe('failFastOnBadInput', () => {
  it('makes bad input a non-retryable failure that names the file', async () => {
    const error = await thrownBy(async () => {
      throw new InputError('/data/nan.arrow', 'pixel 3 of row 7 is NaN');
    });
    expect(error).toBeInstanceOf(ApplicationFailure);
    const failure = error as ApplicationFailure;
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('InputError');
    expect(failure.message).toBe('/data/nan.arrow: pixel 3 of row 7 is NaN');
    expect(failure.details).toEqual([{ file: '/data/nan.arrow' }]);
  });

  it('leaves an allocation failure (a RangeError) retryable: another worker may have the memory', async () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    const error = await thrownBy(async () => memory.grow(1));
    expect(error).toBeInstanceOf(RangeError);
    expect(error).not.toBeInstanceOf(ApplicationFailure);
  });

  it('leaves an invariant failure retryable', async () => {
    const invariant = new Error('the SC curve has a missing score');
    expect(await thrownBy(() => Promise.reject(invariant))).toBe(invariant);
  });
});
