/** A team helper (team.ts) for the tests of a helper's failure: echoes requests, or throws on 'throw'. */
import { serveTeam } from '../../lib/embed/tsne/team.js';

serveTeam<{ kind: 'echo' | 'throw'; text: string }>((request) => {
  if (request.kind === 'throw') throw new Error(`helper failed on ${request.text}`);
  return { reply: request.text };
});
