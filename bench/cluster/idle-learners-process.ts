/**
 * A process that holds idle learners' connections for another one (`idleLearnersProcess()` in
 * idle-learners.ts forks it and asks over IPC): a thousand sockets and their events in the
 * test's own process would make the test, not the lab, the thing measured. It ends when its
 * parent disconnects or goes.
 */
import type { LabClient } from '../../lib/lab-client';
import { connectIdleLearners, everyoneHears, type IdleLearner, type IdleRequest } from './idle-learners';

let clients: LabClient[] = [];
let armed: { heard: () => number; all: Promise<void> } | undefined;

async function answer(request: IdleRequest): Promise<unknown> {
  switch (request.type) {
    case 'connect': {
      const added = await connectIdleLearners(request.url, request.count);
      clients.push(...added);
      return added.map((client): IdleLearner => ({ sessionId: client.session!.sessionId, node: client.session!.node! }));
    }
    case 'arm': {
      const { arrivals, all } = everyoneHears(clients, request.event, request.match);
      armed = { heard: () => arrivals.length, all };
      return {};
    }
    case 'heard': {
      if (!armed) throw new Error('nothing armed: send `arm` first');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([armed.all, new Promise((resolve) => (timer = setTimeout(resolve, request.waitMs)))]);
      clearTimeout(timer);
      return { heard: armed.heard(), of: clients.length };
    }
    case 'connected':
      return clients.filter((client) => client.socket.connected).length;
  }
}

process.on('message', (message: IdleRequest & { id: number }) => {
  answer(message).then(
    (result) => process.send?.({ id: message.id, result }),
    (error: unknown) => process.send?.({ id: message.id, error: error instanceof Error ? `${error.message}${'code' in error ? ` (${String(error.code)})` : ''}` : String(error) }),
  );
});
process.on('disconnect', () => {
  for (const client of clients) client.close();
  process.exit(0);
});
