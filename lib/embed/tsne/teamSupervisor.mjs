// The supervisor of a ThreadTeam's helpers (team.ts): starts them (through the TypeScript loader,
// thread.mjs), each with its end of a channel to the coordinator, and, its event loop being free
// while the coordinator blocks in Atomics.wait, reports the first helper that dies: into the
// team's shared status, which the coordinator's waits read, and by message. The team ends the
// helpers by terminating this thread (its child threads end with it).
import { parentPort, Worker, workerData } from 'node:worker_threads';

const { loader, entry, ports, status } = workerData;
const FAILED = 0;
const REASON_LENGTH = 1;
const STATUS_HEADER_BYTES = 8;
const reasonBytes = new Uint8Array(status.buffer, STATUS_HEADER_BYTES);

function report(reason) {
  if (Atomics.compareExchange(status, FAILED, 0, 1) !== 0) return;
  const { written } = new TextEncoder().encodeInto(reason, reasonBytes);
  Atomics.store(status, REASON_LENGTH, written);
  Atomics.notify(status, FAILED);
  parentPort.postMessage('failed');
}

ports.forEach((port, index) => {
  const name = `helper ${index + 1} of ${ports.length}`;
  const helper = new Worker(new URL(loader), { workerData: { entry, port }, transferList: [port] });
  helper.on('error', (error) => report(`${name} failed: ${error?.stack ?? error}`));
  helper.on('exit', (code) => report(`${name} exited (code ${code}) before the team was closed`));
});
