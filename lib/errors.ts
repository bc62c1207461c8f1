/**
 * An error caused by the user's input (a missing file, a malformed model, a dataset the method
 * cannot score). Retrying cannot fix it, so activities turn it into a non-retryable failure.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  /** The file (or directory) the problem is in; always named in the message too. */
  readonly file: string;

  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.file = file;
  }
}
