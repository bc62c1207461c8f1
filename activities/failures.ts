import { ApplicationFailure } from '@temporalio/activity';
import { InputError } from '../lib/errors.js';
import { blameSource } from '../lib/store/lineage.js';

/**
 * Runs an activity body, turning bad input into a non-retryable failure (retrying cannot fix a
 * missing file) while infrastructure errors stay retryable.
 */
export async function failFastOnBadInput<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof InputError) {
      // Found in an artifact? Then name the user's file it was made from.
      const blamed = await blameSource(error);
      throw ApplicationFailure.nonRetryable(blamed.message, blamed.name);
    }
    if (error instanceof RangeError) throw ApplicationFailure.nonRetryable(error.message, error.name);
    throw error;
  }
}
