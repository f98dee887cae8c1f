/**
 * Shapes shared by every part of the protocol: ids, limits, errors, the handshake.
 */
import { z } from 'zod';
import { displayNameProblem, MAX_DISPLAY_NAME_INPUT, normalizeDisplayName, TERMINAL_LIMITS } from './limits';

export * from './limits';

// ---------------------------------------------------------------------------------------------
// Identifiers and limits (the plain values are in limits.ts)
// ---------------------------------------------------------------------------------------------

/** Sandbox ids double as container ids and hostnames, so they stay short and DNS-safe. */
export const SandboxId = z.string().regex(/^sbx-[a-z0-9]{8}$/, 'expected a sandbox id like sbx-1a2b3c4d');
export const TerminalId = z.string().regex(/^term-[a-z0-9]{8}$/, 'expected a terminal id like term-1a2b3c4d');
/** A session token is a bearer secret: 32 random bytes, base64url. */
export const SessionToken = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected a 43-character session token');

export const Cols = z.int().min(TERMINAL_LIMITS.minCols).max(TERMINAL_LIMITS.maxCols);
export const Rows = z.int().min(TERMINAL_LIMITS.minRows).max(TERMINAL_LIMITS.maxRows);
export const TerminalSize = z.strictObject({ cols: Cols, rows: Rows });
export type TerminalSize = z.infer<typeof TerminalSize>;

/** A caller-chosen name for a sandbox within a session, e.g. the lesson slug. Reopening the same key reattaches. */
export const SandboxKey = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'expected a lowercase key like "uts" or "lesson-2"');

/** What a learner is called, as the instructor and the class see it (the rule: limits.ts). */
export const DisplayName = z
  .string()
  .max(MAX_DISPLAY_NAME_INPUT)
  .transform(normalizeDisplayName)
  .pipe(
    z.string().superRefine((name, context) => {
      const problem = displayNameProblem(name);
      if (problem) context.addIssue({ code: 'custom', message: problem });
    }),
  );

/**
 * A class code as a learner types it: letters, digits, dashes and spaces. It is compared without
 * case, spaces or dashes ("abc-123" is "ABC 123").
 */
export const ClassCodeText = z.string().regex(/^[A-Za-z0-9 -]{4,64}$/, 'a class code is 4 to 64 letters, digits, dashes or spaces');

// ---------------------------------------------------------------------------------------------
// Handshake
// ---------------------------------------------------------------------------------------------

/** Sent in socket.io's `auth` field. No token means "issue me a new session". */
export const HandshakeAuth = z.object({
  protocolVersion: z.int(),
  token: SessionToken.optional(),
  /** A name that is not allowed is replaced by a generated one rather than refusing the learner. */
  displayName: DisplayName.optional().catch(undefined),
  /** Present only on the instructor's page; a wrong one is refused, never downgraded. */
  instructorToken: z.string().min(16).max(200).optional(),
  /** The class code the learner entered (see app/join), when the lab asks for one. */
  classCode: z.string().max(64).optional(),
});

// ---------------------------------------------------------------------------------------------
// Shared shapes
// ---------------------------------------------------------------------------------------------

export const ErrorCode = z.enum([
  'BAD_REQUEST', // the payload failed its schema
  'UNKNOWN_EVENT', // no such event in the protocol
  'RATE_LIMITED', // too many events too fast
  'NOT_FOUND', // no such sandbox or terminal for this session (also what another session's ids look like)
  'LAB_FULL', // the global sandbox limit is reached
  'SESSION_LIMIT', // this session has too many sandboxes
  'TERMINAL_LIMIT', // this sandbox has too many terminals
  'LAB_CLOSED', // the instructor closed the lab to new learners
  'CHECK_BUSY', // a check is already running in this sandbox
  'LAB_BUSY', // the lab runs as many runc execs (checks, new terminals) at once as it may
  'SPAWN_FAILED', // the container runtime could not start the sandbox or terminal
  'RUNTIME_ERROR', // the container runtime failed later on
  'DISK_FULL', // the lab's data directory has no room left
  'HOST_BUDGET', // the host kernel ran out of a budget all sandboxes share (pseudo-terminals)
  'FORBIDDEN', // the event needs a role this connection does not have
  'INTERNAL', // a bug: logged with details on the server
  // Handshake refusals, delivered as socket.io connect_error with these codes in `data`.
  'ORIGIN_REFUSED', // the page's origin is not on the lab's allow-list
  'PROTOCOL_MISMATCH', // the page and the server speak different protocol versions
  'BAD_HANDSHAKE', // the handshake's auth field is malformed
  'TOO_MANY_CONNECTIONS', // this address or session holds too many connections, or starts too many sessions
  'ADDRESS_LIMIT', // this address already runs the most sandboxes one address may
  'TOO_MANY_ATTEMPTS', // too many wrong secrets (instructor token, class code) from this address
  'CLASS_CODE_REQUIRED', // the lab is for a class: a new learner needs its code (missing or wrong)
  'WRONG_NODE', // several lab nodes: this session lives on another one, named in the refusal's `node` (the client reconnects there)
  'CLUSTER_UNAVAILABLE', // several lab nodes: their shared state (Redis) cannot be reached right now
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const LabErrorPayload = z.object({
  code: ErrorCode,
  /** A sentence a learner can act on. */
  message: z.string(),
  /** The event that caused it, when there was one. */
  event: z.string().optional(),
  /** WRONG_NODE only: the lab node to reconnect to (`?node=` for the router). */
  node: z.string().optional(),
});
export type LabErrorPayload = z.infer<typeof LabErrorPayload>;

/** `run` is the sandbox's init shell (runc run); `exec` terminals join it (runc exec -t). */
export const TerminalKind = z.enum(['run', 'exec']);
export type TerminalKind = z.infer<typeof TerminalKind>;
export const TerminalInfo = z.object({
  terminalId: TerminalId,
  kind: TerminalKind,
  cols: Cols,
  rows: Rows,
  exited: z.boolean(),
});
export type TerminalInfo = z.infer<typeof TerminalInfo>;

export const SandboxLimits = z.object({
  memoryBytes: z.number(),
  pids: z.number(),
  cpus: z.number(),
});
export type SandboxLimits = z.infer<typeof SandboxLimits>;

export const SandboxInfo = z.object({
  sandboxId: SandboxId,
  key: SandboxKey,
  hostname: z.string(),
  createdAt: z.number(),
  limits: SandboxLimits,
  terminals: z.array(TerminalInfo),
});
export type SandboxInfo = z.infer<typeof SandboxInfo>;

export const CheckResult = z.object({
  exitCode: z.number().nullable(),
  /** Output is cut at a fixed size; `truncated` says so. */
  stdout: z.string(),
  stderr: z.string(),
  truncated: z.boolean(),
  timedOut: z.boolean(),
  durationMs: z.number(),
});
export type CheckResult = z.infer<typeof CheckResult>;

export const CloseReason = z.enum(['closed', 'exited', 'idle', 'lifetime', 'abandoned', 'instructor', 'shutdown', 'failed', 'budget']);
export type CloseReason = z.infer<typeof CloseReason>;
