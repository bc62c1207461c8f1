import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, RetryState, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../cli/format.js';
import { innermostCause } from '../../workflows/failureCause.js';

const badInput = ApplicationFailure.create({
  message: '/d/nan.arrow: pixel 3 of row 7 is NaN',
  type: 'InputError',
  nonRetryable: true,
  details: [{ file: '/d/nan.arrow' }],
});
const inActivity = (cause: Error) =>
  new ActivityFailure('Activity task failed', 'extractLayerFeatures', '1', RetryState.NON_RETRYABLE_FAILURE, 'w', cause);
const inChild = (cause: Error) =>
  new ChildWorkflowFailure('default', { workflowId: 'c', runId: 'r' }, 'PruneDatasetWorkflow', RetryState.NON_RETRYABLE_FAILURE, cause);

describe('innermostCause', () => {
  it("walks WorkflowFailedError -> ChildWorkflowFailure -> ActivityFailure -> ApplicationFailure to the step's own words", () => {
    const error = new WorkflowFailedError('Workflow execution failed', inChild(inActivity(badInput)), RetryState.NON_RETRYABLE_FAILURE);
    expect(innermostCause(error)).toEqual({
      message: '/d/nan.arrow: pixel 3 of row 7 is NaN',
      stage: 'extract',
      file: '/d/nan.arrow',
      badInput: true,
    });
  });

  it('takes a retryable failure or a timeout for what it is, not bad input', () => {
    const retried = inActivity(ApplicationFailure.create({ message: 'Array buffer allocation failed', type: 'RangeError' }));
    expect(innermostCause(retried)).toEqual({
      message: 'Array buffer allocation failed',
      stage: 'extract',
      file: undefined,
      badInput: false,
    });
    const timedOut = inActivity(new TimeoutFailure('heartbeat timeout', undefined, TimeoutType.HEARTBEAT));
    expect(innermostCause(timedOut)).toEqual({ message: 'heartbeat timeout', stage: 'extract', badInput: false });
  });

  it('takes an InputError that was left retryable for no bad input: only a non-retryable one is', () => {
    const retryable = ApplicationFailure.create({ message: '/d/x.arrow: gone', type: 'InputError', nonRetryable: false });
    expect(innermostCause(inActivity(retryable)).badInput).toBe(false);
  });
});

describe('exitCodeFor', () => {
  it('is 0 without failures, 2 when all are bad input, 1 when any is not', () => {
    const bad = { message: 'x', badInput: true };
    const other = { message: 'y', badInput: false };
    expect([exitCodeFor([]), exitCodeFor([bad, bad]), exitCodeFor([bad, other])]).toEqual([0, 2, 1]);
  });
});
