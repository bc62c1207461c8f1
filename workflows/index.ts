export { PruneDatasetWorkflow } from './pruneDataset.js';
export { SweepWorkflow } from './sweep.js';
