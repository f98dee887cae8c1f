import { describe, expect, it, vi } from 'vitest';
import type { LabTerminal } from '../sandbox/terminal';
import { ConnectionScope } from './connection-scope';

const fakeTerminal = (id: string) => ({ id, detach: vi.fn() }) as unknown as LabTerminal & { detach: ReturnType<typeof vi.fn> };

describe('ConnectionScope', () => {
  it('on dispose detaches every terminal the connection views and ends every subscription, once', () => {
    const scope = new ConnectionScope('socket-1');
    const own = fakeTerminal('term-aaaaaaaa');
    const followed = fakeTerminal('term-bbbbbbbb');
    const ended: string[] = [];
    scope.view(own);
    scope.view(followed);
    scope.hold('observe:sbx-1', () => ended.push('observe'));
    scope.hold('classroom', () => ended.push('classroom'));

    scope.dispose();
    scope.dispose();
    expect(own.detach).toHaveBeenCalledTimes(1);
    expect(own.detach).toHaveBeenCalledWith('socket-1');
    expect(followed.detach).toHaveBeenCalledTimes(1);
    expect(ended).toEqual(['classroom', 'observe']);
  });

  it('subscribing twice under one name is one subscription, and releasing ends it at once', () => {
    const scope = new ConnectionScope('socket-1');
    const end = vi.fn();
    scope.hold('observe:sbx-1', end);
    scope.hold('observe:sbx-1', vi.fn());
    scope.release('observe:sbx-1');
    scope.dispose();
    expect(end).toHaveBeenCalledTimes(1);
  });

  it('forgets what finished by itself, so it is not ended again when the connection goes', () => {
    const scope = new ConnectionScope('socket-1');
    const leaveTheLine = vi.fn();
    scope.hold('sandbox:open#1', leaveTheLine);
    scope.forget('sandbox:open#1');
    scope.dispose();
    expect(leaveTheLine).not.toHaveBeenCalled();
  });

  it('takes acks for what it views, forgets what it stopped viewing, and lets go of anything added after it ended', () => {
    const scope = new ConnectionScope('socket-1');
    const terminal = fakeTerminal('term-aaaaaaaa');
    scope.view(terminal);
    expect(scope.viewed('term-aaaaaaaa')).toBe(terminal);
    scope.stopViewing('term-aaaaaaaa');
    expect(terminal.detach).toHaveBeenCalledTimes(1);
    expect(scope.viewed('term-aaaaaaaa')).toBeUndefined();

    scope.dispose();
    const late = fakeTerminal('term-cccccccc');
    const end = vi.fn();
    scope.view(late);
    scope.hold('observe:sbx-2', end);
    expect(late.detach).toHaveBeenCalledTimes(1);
    expect(end).toHaveBeenCalledTimes(1);
  });
});
