/** A helper thread of a t-SNE run's team (tsneTeam.ts): serves the requests its coordinator sends. */
import { serveTeam } from './team.js';
import { serveTsneRequest, type TsneRequest } from './tsneTeam.js';

serveTeam<TsneRequest>(serveTsneRequest);
