import { ApplicationFailure } from '@temporalio/activity';
import { InputError } from '../lib/errors.js';
import { blameSource } from '../lib/store/lineage.js';

/**
 * Runs an activity body, turning bad input (InputError) into a non-retryable failure that names
 * the user's file: retrying cannot fix a missing file. Every other error (an invariant, an
 * allocation failure such as a RangeError from WebAssembly `memory.grow`) stays retryable, since
 * another attempt, or another worker, may well succeed.
 */
export async function failFastOnBadInput<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    // Found in an artifact? Then name the user's file it was made from.
    const blamed = await blameSource(error);
    throw ApplicationFailure.create({
      message: blamed.message,
      type: blamed.name,
      nonRetryable: true,
      details: [{ file: blamed.file }],
    });
  }
}
