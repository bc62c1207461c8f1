import { describe, expect, it } from 'vitest';
import { tsneThreadsPerRun } from '../../workers/create.js';

describe('tsneThreadsPerRun', () => {
  it('splits the cores among the t-SNEs that may run at once, never fewer than one thread', () => {
    // The CPU worker's case: one activity per core, so one thread each (2 cores: 2 threads in all, not 4).
    expect(tsneThreadsPerRun(2, 2)).toBe(1);
    expect(tsneThreadsPerRun(16, 16)).toBe(1);
    expect(tsneThreadsPerRun(16, 1)).toBe(16);
    expect(tsneThreadsPerRun(16, 3)).toBe(5);
    expect(tsneThreadsPerRun(2, 5)).toBe(1);
    expect(tsneThreadsPerRun(4, 0)).toBe(4);
  });
});
