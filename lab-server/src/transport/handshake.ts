/**
 * The socket.io handshake: who may connect, and as whom. It checks the Origin, the protocol
 * version, the instructor's secret and the class code (both throttled per address) and the
 * per-address limits, then finds the session for the token or issues a new one. A refusal reaches the page as a
 * `connect_error` whose `data` carries the code and a sentence saying what to do.
 */
import type { BlockList } from 'node:net';
import type { ExtendedError } from 'socket.io';
import { HandshakeAuth, PROTOCOL_VERSION, type ErrorCode } from '../../../protocol';
import type { LabMetrics } from '../http/metrics';
import type { ClassCode } from '../classroom/class-code';
import type { Logger } from '../log';
import { sameSecret } from '../secrets';
import type { SessionStore } from '../session/session-store';
import type { AddressLimits } from './address-limits';
import { clientAddress, limitKey } from './client-address';
import type { LabSocket } from './handler-types';

export interface HandshakeOptions {
  allowedOrigins: string[];
  /** A connection whose handshake carries this token is the instructor's. */
  instructorToken: string;
  /** When set, a new learner session needs it (see classroom/class-code.ts). */
  classCode: ClassCode;
  sessions: SessionStore;
  limits: AddressLimits;
  /** Proxies whose X-Forwarded-For names the client (ISOLAB_TRUSTED_PROXIES). */
  trustedProxies: BlockList;
  logger: Logger;
  metrics?: LabMetrics;
}

/** socket.io middleware: fills `socket.data` (session, token, role, address) or refuses. */
export function handshake(options: HandshakeOptions) {
  const { sessions, limits, logger, metrics } = options;
  return (socket: LabSocket, next: (error?: ExtendedError) => void): void => {
    const address = clientAddress(socket.handshake.address, socket.handshake.headers['x-forwarded-for'], options.trustedProxies);
    const refuse = (code: ErrorCode, message: string) => {
      metrics?.refusals.inc({ reason: code });
      logger.warn('connection refused', { code, origin: socket.handshake.headers.origin, address });
      next(Object.assign(new Error(message), { data: { code, message } }));
    };
    const origin = socket.handshake.headers.origin;
    if (!origin || !options.allowedOrigins.includes(origin)) {
      return refuse(
        'ORIGIN_REFUSED',
        `Connections from ${origin ?? 'pages without an Origin'} are not allowed. The operator can add the origin to ISOLAB_ALLOWED_ORIGINS.`,
      );
    }
    const auth = HandshakeAuth.safeParse(socket.handshake.auth);
    if (!auth.success) return refuse('BAD_HANDSHAKE', 'The connection request is malformed. Reload the page.');
    if (auth.data.protocolVersion !== PROTOCOL_VERSION) {
      return refuse(
        'PROTOCOL_MISMATCH',
        `This page speaks protocol version ${auth.data.protocolVersion}, but the lab server speaks version ${PROTOCOL_VERSION}. Reload the page to get the current version.`,
      );
    }
    const key = limitKey(address);
    if (auth.data.instructorToken !== undefined) {
      // Checked before the comparison: once throttled, a guess learns nothing, right or wrong.
      const throttled = limits.refuseSecretAttempt(key, 'instructor link');
      if (throttled) return refuse(throttled.code, throttled.message);
      if (!sameSecret(auth.data.instructorToken, options.instructorToken)) {
        limits.secretWasWrong(key, 'instructor link');
        return refuse('FORBIDDEN', 'That instructor link is not valid. Use the instructor URL lab-server printed when it started.');
      }
    }
    const known = auth.data.token ? sessions.find(auth.data.token) : undefined;
    const instructor = auth.data.instructorToken !== undefined;
    // A page that skipped /join, or a script, gets no session without the code; learners already in keep theirs.
    if (!instructor && !known && options.classCode.current !== null) {
      if (!auth.data.classCode) return refuse('CLASS_CODE_REQUIRED', 'This lab is for a class: enter the class code your instructor gave you.');
      const throttled = limits.refuseSecretAttempt(key, 'class code');
      if (throttled) return refuse(throttled.code, throttled.message);
      if (!options.classCode.matches(auth.data.classCode)) {
        limits.secretWasWrong(key, 'class code');
        return refuse('CLASS_CODE_REQUIRED', 'That class code is not right. Check it with your instructor and try again.');
      }
      limits.classCodeWasRight(key);
    }
    const limited = limits.refuseConnection(key, known);
    if (limited) return refuse(limited.code, limited.message);
    if (known && auth.data.token) {
      socket.data.session = known;
      socket.data.token = auth.data.token;
      socket.data.isNew = false;
    } else {
      const issued = sessions.issue(auth.data.displayName);
      if (!instructor) options.classCode.admitted(issued.session);
      socket.data.session = issued.session;
      socket.data.token = issued.token;
      socket.data.isNew = true;
    }
    socket.data.role = instructor ? 'instructor' : 'learner';
    socket.data.address = key;
    next();
  };
}
