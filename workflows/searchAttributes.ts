import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Registered on the server by infra/temporal.sh; used to filter runs in the Temporal UI. */
export const DATASET = defineSearchAttributeKey('Dataset', SearchAttributeType.KEYWORD);
export const SWEEP = defineSearchAttributeKey('Sweep', SearchAttributeType.KEYWORD);
export const STAGE = defineSearchAttributeKey('Stage', SearchAttributeType.KEYWORD);
export const ALPHA = defineSearchAttributeKey('Alpha', SearchAttributeType.DOUBLE);
export const KEPT_LAYERS = defineSearchAttributeKey('KeptLayers', SearchAttributeType.INT);
/** Set on runs with repeats: whether every repeat's cut equals the mean curve's. */
export const STABLE = defineSearchAttributeKey('Stable', SearchAttributeType.BOOL);
