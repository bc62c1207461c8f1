export { PruneDatasetWorkflow } from './pruneDataset.js';
