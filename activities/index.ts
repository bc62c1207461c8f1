export { embedLayer, scoreEmbedding } from './embed.js';
export { emitPrunedCheckpoint } from './emit.js';
export { extractLayerFeatures } from './extract.js';
