/**
 * Flow control numbers shared by both ends.
 *
 * The server counts the chars it sent and the client acknowledges chars once xterm.js has written
 * them. The server pauses the pty when a viewer falls `highWaterChars` behind and resumes at
 * `lowWaterChars`. VS Code uses 100k/5k for the same job; the client acks in batches of
 * `ackEveryChars` so that acks stay a small fraction of the traffic.
 */
export const FLOW_CONTROL = {
  highWaterChars: 128 * 1024,
  lowWaterChars: 16 * 1024,
  ackEveryChars: 16 * 1024,
} as const;
