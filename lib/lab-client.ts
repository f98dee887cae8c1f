/**
 * A typed client for the lab protocol, shared by the browser, the server tests and the
 * benchmarks. It owns one socket.io connection and turns acknowledged requests into promises.
 */
import { io, type Socket } from 'socket.io-client';
import { PROTOCOL_VERSION } from '../protocol/limits';
import type {
  ClientMessageName,
  ClientRequestName,
  ClientToServerEvents,
  ErrorCode,
  LabErrorPayload,
  MessagePayload,
  RequestPayload,
  RequestResult,
  Result,
  ServerPayload,
  ServerToClientEvents,
} from '../protocol';
import { askForClassCode, storedClassCode } from './class-code';

/** The browser's (and tests') end of the socket; lab-server's end is its `LabSocket`. */
export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
export type SessionInfo = ServerPayload<'session'>;

export interface ConnectOptions {
  /** A session token from an earlier connection; without one the server issues a new session. */
  token?: string;
  /**
   * Several lab nodes: the node that holds the session (the `session` event's `node`), for the
   * router (`?node=`). Without it, a node that is not the session's home names it and the client
   * reconnects there.
   */
  node?: string;
  displayName?: string;
  /** The instructor's secret, on the instructor's page only. */
  instructorToken?: string;
  /** The class code; in a browser, the one entered on /join is sent when this is not given. */
  classCode?: string;
  /** Node only: the Origin header to send (browsers send their own). */
  origin?: string;
  /** Node only: an X-Forwarded-For header, as a proxy in front of lab-server would send. */
  forwardedFor?: string;
  /** Node only: false accepts a certificate from a test CA (Caddy's `tls internal`). */
  rejectUnauthorized?: boolean;
  /** Node only: the local address to connect from, e.g. 127.0.0.7 (load tests: the per-address connection cap). */
  localAddress?: string;
  /** Reconnect automatically (the browser wants this; tests usually do not). */
  reconnection?: boolean;
  /** How long to wait for the session before giving up. */
  timeoutMs?: number;
  /**
   * `timeoutMs` counts from when this settles, not from now: a page that connects while it is
   * still loading (components/connection/early-lesson.ts) starts counting once it has loaded, so
   * that its own work, which keeps it from reading the answer, is not taken for the lab's silence.
   */
  deadlineFrom?: Promise<unknown>;
  /** How long request() waits for an answer when its caller names no time (30 s). */
  requestTimeoutMs?: number;
  protocolVersion?: number;
  /**
   * Keep the server's events (the latest KEPT_EVENTS_MAX; a terminal's are not kept) so that a
   * listener that registers late is handed the ones it missed, until `stopKeeping()`. For a page that connects before its code
   * has hydrated (components/connection/early-lesson.ts): its classroom only starts listening
   * then, and what lab-server said right after the handshake must still reach it.
   */
  keepEvents?: boolean;
}

/** The handshake options every lab socket is opened with; `token` is read at each (re)connect. */
export function openLabSocket(url: string, options: ConnectOptions, token: () => string | undefined): ClientSocket {
  return io(url, {
    transports: ['websocket'],
    reconnection: options.reconnection ?? false,
    auth: (callback) =>
      callback({
        protocolVersion: options.protocolVersion ?? PROTOCOL_VERSION,
        token: token(),
        displayName: options.displayName,
        ...(options.instructorToken ? { instructorToken: options.instructorToken } : {}),
        classCode: options.classCode ?? storedClassCode(),
      }),
    extraHeaders: {
      ...(options.origin ? { origin: options.origin } : {}),
      ...(options.forwardedFor ? { 'x-forwarded-for': options.forwardedFor } : {}),
    },
    ...(options.node ? { query: { node: options.node } } : {}),
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    ...(options.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
    forceNew: true,
    // The caller's deadline is the only one: socket.io's (20 s from now) would count the page's
    // loading too. socket.io takes false for "no timer" (Manager: `false !== this._timeout`); its types say number.
    ...(options.deadlineFrom ? { timeout: false as unknown as number } : {}),
  });
}

/** A server event as a socket received it. */
export interface ReceivedEvent {
  event: string;
  args: unknown[];
}

/** A refused handshake, as socket.io reports it (`data` is the lab's LabErrorPayload). */
export type ConnectError = Error & { data?: LabErrorPayload };

/** A request sent before the socket's LabClient existed, and its answer to come. */
export interface AskedRequest {
  event: ClientRequestName;
  payload: unknown;
  answer: Promise<Result<unknown>>;
}

/**
 * Terminal 1's attach (`terminal:open` with its terminalId), sent by the socket's first owner the
 * moment the sandbox answered, before the page's code had loaded (components/connection/head-start.ts),
 * with the terminal's events from then on held for whoever shows it.
 */
export interface AskedTerminal {
  sandboxId: string;
  terminalId: string;
  /** The size it was opened at, for the terminal on the page to correct. */
  cols: number;
  rows: number;
  answer: Promise<Result<unknown>>;
  /**
   * Stops holding and hands over what was held: the terminal's events so far, in order, and
   * whether output was dropped (more came than is held; the screen has to be fetched again).
   * The caller listens from here on, in the same turn, so nothing falls between.
   */
  take(): { events: ReceivedEvent[]; lost: boolean };
}

/** A socket opened before the page's code loaded (components/connection/head-start.ts), for LabClient.adopt(). */
export interface HeadStartSocket {
  url: string;
  socket: ClientSocket;
  /** What it received so far, in order. */
  events: ReceivedEvent[];
  /** The lab refused its handshake. */
  refused?: ConnectError;
  /** It was connected, and is no more. */
  dropped?: boolean;
  asked?: AskedRequest;
  /** Terminal 1, attached once `asked` (the sandbox) answered. */
  terminal?: AskedTerminal;
  /** Its first owner stops listening and asking: the events, refusal and request above are all there will be. */
  stop(): void;
}

/** How many server events a keeping client holds for late listeners; older ones are dropped first. */
export const KEPT_EVENTS_MAX = 100;

/** WRONG_NODE answers followed in a row before giving up (each names the node to go to; one is usual). */
const MAX_NODE_REDIRECTS = 3;

/** A refusal from the server, with its code. */
export class LabRequestError extends Error {
  constructor(
    readonly code: ErrorCode | 'TIMEOUT' | 'DISCONNECTED',
    message: string,
  ) {
    super(message);
    this.name = 'LabRequestError';
  }
}

export class LabClient {
  session: SessionInfo | undefined;
  /** A request the socket's first owner already sent (adopt()), answered to the first request() that asks the same. */
  private asked: AskedRequest | undefined;
  /** Terminal 1's attach, if the socket's first owner sent it (adopt()), until the connection takes it. */
  private askedTerminal: AskedTerminal | undefined;
  private readonly sessionListeners = new Set<(session: SessionInfo) => void>();
  /** The server's events so far, while keeping (see ConnectOptions.keepEvents). */
  private kept: Array<{ event: string; args: unknown[] }> | undefined;
  private readonly keep = (event: string, ...args: unknown[]) => {
    // A terminal's events are its stream's alone, which listens from its open's answer on; kept,
    // a late stream of the same terminal would get them twice, and a burst of output would push
    // the classroom's events out of the record.
    if (!this.kept || event.startsWith('terminal:')) return;
    if (this.kept.length === KEPT_EVENTS_MAX) this.kept.shift();
    this.kept.push({ event, args });
  };

  private constructor(
    readonly socket: ClientSocket,
    private readonly requestTimeoutMs = 30_000,
    keepEvents = false,
    /** What a socket opened elsewhere received before this client took it over (adopt()). */
    before: ReceivedEvent[] = [],
  ) {
    if (keepEvents) {
      this.kept = [];
      for (const { event, args } of before) this.keep(event, ...args);
      // onAny sees every event before its listeners do, so the record is in arrival order.
      socket.onAny(this.keep);
    }
    for (const { event, args } of before) if (event === 'session') this.session = args[0] as SessionInfo;
    socket.on('session', (session) => {
      this.session = session;
      for (const listener of this.sessionListeners) listener(session);
    });
  }

  /** Connects and resolves once the server has sent the session. Rejects with the server's reason if refused. */
  static connect(url: string, options: ConnectOptions = {}): Promise<LabClient> {
    // The token is read again on every reconnect, so a rotated token is picked up.
    const socket = openLabSocket(url, options, () => client.session?.token ?? options.token);
    const client = new LabClient(socket, options.requestTimeoutMs, options.keepEvents);
    return client.ready(url, options);
  }

  /**
   * Takes over a socket the page's first script opened (components/connection/head-start.ts)
   * and resolves once its session is there, as connect() does: with the events it has received
   * so far kept for late listeners, and its `sandbox:open`, already asked, answered through
   * request(). Rejects as connect() does if the lab refused it, or if it dropped before this.
   */
  static adopt(start: HeadStartSocket, options: ConnectOptions = {}): Promise<LabClient> {
    // From here on this client listens; what the first owner recorded is complete.
    start.stop();
    if (start.dropped) {
      start.socket.close();
      return Promise.reject(new LabRequestError('DISCONNECTED', `The connection to the lab server at ${start.url} dropped.`));
    }
    const client = new LabClient(start.socket, options.requestTimeoutMs, options.keepEvents, start.events);
    client.asked = start.asked;
    client.askedTerminal = start.terminal;
    return client.ready(start.url, options, start.refused);
  }

  /** Resolves once the server has sent the session (at once if it has); `refused` is a refusal that came before. */
  private ready(url: string, options: ConnectOptions, refused?: ConnectError): Promise<LabClient> {
    const { socket } = this;
    const client = this;
    let redirects = 0;
    // Every later reconnect goes straight to the session's node.
    client.onSession((session) => {
      redirects = 0;
      if (session.node) socket.io.opts.query = { node: session.node };
    });
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let settled = false;
      void (options.deadlineFrom ?? Promise.resolve()).then(() => {
        if (settled) return;
        timer = setTimeout(() => {
          socket.close();
          reject(new LabRequestError('TIMEOUT', `No answer from the lab server at ${url}.`));
        }, options.timeoutMs ?? 10_000);
      });
      const settle = () => {
        settled = true;
        clearTimeout(timer);
      };
      client.onSession(() => {
        settle();
        resolve(client);
      });
      const onRefused = (error: ConnectError) => {
        // socket.io has no redirect: a fresh connection, this time naming the node, for the router.
        if (error.data?.code === 'WRONG_NODE' && error.data.node && redirects < MAX_NODE_REDIRECTS) {
          redirects++;
          socket.io.opts.query = { node: error.data.node };
          socket.disconnect();
          socket.connect();
          return;
        }
        // A page, not a terminal, is the answer: /join asks for the code (unless the caller gave one and handles it).
        if (error.data?.code === 'CLASS_CODE_REQUIRED' && options.classCode === undefined) askForClassCode();
        if (options.reconnection) return;
        settle();
        socket.close();
        reject(new LabRequestError(error.data?.code ?? 'DISCONNECTED', error.data?.message ?? error.message));
      };
      socket.on('connect_error', onRefused);
      if (refused) onRefused(refused);
    });
  }

  onSession(listener: (session: SessionInfo) => void): () => void {
    this.sessionListeners.add(listener);
    if (this.session) listener(this.session);
    return () => this.sessionListeners.delete(listener);
  }

  /**
   * Sends a request and resolves with its value, or rejects with the server's coded refusal.
   *
   * `onReply` runs the moment the answer is read, in its place among the events. In Node, events
   * read from the socket together are all handled before the promise's continuation runs, so a
   * caller that starts listening only after `await` can miss what the server sent right after
   * the answer (a terminal's first output after `terminal:open`); onReply marks that point, with
   * the answer, so a listener that needs it (the terminal's id) can start there.
   */
  request<E extends ClientRequestName>(
    event: E,
    payload: RequestPayload<E>,
    timeoutMs = this.requestTimeoutMs,
    onReply?: (result: Result<RequestResult<E>>) => void,
  ): Promise<RequestResult<E>> {
    // Asked once on this socket already: asking again would be a second request the server answers.
    const asked = this.asked?.event === event && JSON.stringify(this.asked.payload) === JSON.stringify(payload) ? this.asked : undefined;
    if (asked) this.asked = undefined;
    const emit = this.socket.emit.bind(this.socket) as (event: string, payload: unknown, ack: (result: Result<RequestResult<E>>) => void) => void;
    return this.answer(event, asked ? (ack) => void asked.answer.then((result) => ack(result as Result<RequestResult<E>>)) : (ack) => emit(event, payload, ack), timeoutMs, onReply);
  }

  /**
   * Terminal 1's attach as the socket's first owner sent it (adopt()), once: for the connection,
   * which shows that terminal instead of asking again. Undefined if there is none, or it was taken.
   */
  takeAskedTerminal(): AskedTerminal | undefined {
    const asked = this.askedTerminal;
    this.askedTerminal = undefined;
    return asked;
  }

  /** The answer to the `terminal:open` the socket's first owner sent, as request() would give it (its deadline included). */
  terminalOpened(asked: AskedTerminal, timeoutMs = this.requestTimeoutMs): Promise<RequestResult<'terminal:open'>> {
    return this.answer('terminal:open', (ack) => void asked.answer.then((result) => ack(result as Result<RequestResult<'terminal:open'>>)), timeoutMs);
  }

  private answer<E extends ClientRequestName>(
    event: E,
    send: (ack: (result: Result<RequestResult<E>>) => void) => void,
    timeoutMs: number,
    onReply?: (result: Result<RequestResult<E>>) => void,
  ): Promise<RequestResult<E>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new LabRequestError('TIMEOUT', `The lab server did not answer "${event}" in time.`)), timeoutMs);
      send((result) => {
        onReply?.(result);
        clearTimeout(timer);
        if (result.ok) resolve(result.value);
        else reject(new LabRequestError(result.error.code, result.error.message));
      });
    });
  }

  /** Sends a fire-and-forget message (terminal input, resize, ack, detach). */
  send<E extends ClientMessageName>(event: E, payload: MessagePayload<E>): void {
    (this.socket.emit as (event: string, payload: unknown) => void)(event, payload);
  }

  /**
   * Listens to a server event. While the client keeps events, `listener` first gets the ones of
   * this name it missed, in order (a page's listeners each hold state of their own, so the order
   * between events of different names does not matter to them).
   */
  on<E extends keyof ServerToClientEvents>(event: E, listener: ServerToClientEvents[E]): () => void {
    this.socket.on(event, listener as never);
    for (const kept of this.kept ?? []) {
      if (kept.event === event) (listener as (...args: unknown[]) => void)(...kept.args);
    }
    return () => void this.socket.off(event, listener as never);
  }

  /** Late listeners get only what comes from now on (the page's listeners are all in). */
  stopKeeping(): void {
    if (!this.kept) return;
    this.kept = undefined;
    this.socket.offAny(this.keep);
  }

  close(): void {
    this.socket.close();
  }
}
