import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Registered on the server by infra/temporal.sh; used to filter runs in the Temporal UI. */
export const DATASET = defineSearchAttributeKey('Dataset', SearchAttributeType.KEYWORD);
export const SWEEP = defineSearchAttributeKey('Sweep', SearchAttributeType.KEYWORD);
export const STAGE = defineSearchAttributeKey('Stage', SearchAttributeType.KEYWORD);
export const ALPHA = defineSearchAttributeKey('Alpha', SearchAttributeType.DOUBLE);
export const KEPT_LAYERS = defineSearchAttributeKey('KeptLayers', SearchAttributeType.INT);
