/**
 * The learner's events: sandboxes, terminals and checks.
 */
import { z } from 'zod';
import {
  CheckResult,
  CloseReason,
  Cols,
  LabErrorPayload,
  MAX_CHECK_COMMAND_CHARS,
  MAX_CHECK_TIMEOUT_MS,
  MAX_INPUT_CHARS,
  PROTOCOL_VERSION,
  Rows,
  SandboxId,
  SandboxInfo,
  SandboxKey,
  SessionToken,
  TerminalId,
  TerminalInfo,
} from './common';
import type { RequestCatalog } from './catalog';

const OpenTerminal = z.strictObject({
  sandboxId: SandboxId,
  /** Absent: start a new terminal. Present: attach to it and receive its screen. */
  terminalId: TerminalId.optional(),
  cols: Cols,
  rows: Rows,
});

/**
 * Requests carry an ack callback and are answered with a `Result`. Each entry names the payload
 * schema and the schema of the value returned on success.
 */
export const labRequests = {
  /** Open the session's sandbox for `key`, or return the one already open. */
  'sandbox:open': { payload: z.strictObject({ key: SandboxKey }), result: SandboxInfo },
  /** The session's live sandboxes, so that a reloaded page can find its own again. */
  'sandbox:list': { payload: z.strictObject({}), result: z.array(SandboxInfo) },
  'sandbox:close': { payload: z.strictObject({ sandboxId: SandboxId }), result: z.strictObject({}) },
  /**
   * Start or attach to a terminal. On attach, `snapshot` holds the current screen (serialized
   * escape sequences) to write into a reset terminal before live output follows.
   */
  'terminal:open': {
    payload: OpenTerminal,
    result: TerminalInfo.extend({ snapshot: z.string() }),
  },
  'terminal:close': { payload: z.strictObject({ terminalId: TerminalId }), result: z.strictObject({}) },
  /** Run a command in the sandbox without a tty (runc exec) and report how it went. */
  'check:run': {
    payload: z.strictObject({
      sandboxId: SandboxId,
      command: z.string().min(1).max(MAX_CHECK_COMMAND_CHARS),
      timeoutMs: z.int().min(100).max(MAX_CHECK_TIMEOUT_MS).optional(),
    }),
    result: CheckResult,
  },
} as const satisfies RequestCatalog;

/** Fire-and-forget messages: the terminal stream. Kept tiny, as in ttyd. */
export const labMessages = {
  'terminal:input': z.strictObject({ terminalId: TerminalId, data: z.string().min(1).max(MAX_INPUT_CHARS) }),
  'terminal:resize': z.strictObject({ terminalId: TerminalId, cols: Cols, rows: Rows }),
  /** Flow control: this many chars of output were written to the screen. */
  'terminal:ack': z.strictObject({ terminalId: TerminalId, chars: z.int().min(1).max(64 * 1024 * 1024) }),
  /** Stop receiving output from a terminal without ending it. */
  'terminal:detach': z.strictObject({ terminalId: TerminalId }),
} as const;

// ---------------------------------------------------------------------------------------------
// Server → client
// ---------------------------------------------------------------------------------------------

export const labServerEvents = {
  /** The first event on every connection: keep `token` to come back to the same sandboxes. */
  session: z.object({
    token: SessionToken,
    sessionId: z.string(),
    displayName: z.string(),
    protocolVersion: z.literal(PROTOCOL_VERSION),
    /** True when this token was just issued, i.e. any old sandboxes are gone. */
    isNew: z.boolean(),
    /** Several lab nodes (README "More than one machine"): the node holding this session's sandboxes. */
    node: z.string().optional(),
    /** The node that held this session's sandboxes stopped; the session lives on here, without them. */
    homeLost: z.boolean().optional(),
  }),
  'terminal:output': z.object({ terminalId: TerminalId, data: z.string() }),
  'terminal:exit': z.object({ terminalId: TerminalId, exitCode: z.number(), signal: z.number().optional() }),
  'sandbox:closed': z.object({ sandboxId: SandboxId, reason: CloseReason, message: z.string() }),
  /**
   * While a `sandbox:open` waits for its turn to start (a class arrived at once): how many
   * learners are ahead. Sent when the open joins the line and when the number changes.
   */
  'sandbox:queue': z.object({ key: SandboxKey, ahead: z.int().min(0) }),
  'lab:error': LabErrorPayload,
} as const;
