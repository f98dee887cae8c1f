import { createHash, timingSafeEqual } from 'node:crypto';

/** Compares secrets in constant time, so that response timing reveals nothing about the secret. */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
