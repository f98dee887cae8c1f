import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { OutgoingBacklog } from './observe-handlers';

describe('OutgoingBacklog', () => {
  it('counts the packets queued on a connection and not yet taken by its transport', () => {
    const connection = new EventEmitter();
    const backlog = new OutgoingBacklog(connection);
    for (let i = 0; i < 5; i++) connection.emit('packetCreate', { type: 'message' });
    expect(backlog.packets).toBe(5);
    connection.emit('flush', [1, 2, 3]);
    expect(backlog.packets).toBe(2);
    // Packets queued before the count began leave it at zero, not below.
    connection.emit('flush', [1, 2, 3, 4]);
    expect(backlog.packets).toBe(0);
    backlog.dispose();
    connection.emit('packetCreate', { type: 'message' });
    expect(backlog.packets).toBe(0);
    expect(connection.listenerCount('packetCreate') + connection.listenerCount('flush')).toBe(0);
  });
});
