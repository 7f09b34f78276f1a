/**
 * Abandoned places are skipped. A waiting browser polls its status every few seconds; a tab that was
 * closed stops polling, and its place must not hold up everyone behind it, nor be handed an admission
 * that nobody will use (an admitted session occupies upstream capacity for its whole TTL).
 *
 * A held API request or websocket upgrade is alive as long as its socket is open, whatever its last
 * poll: the integrator pins it while the socket is held and unpins it (which counts as being seen) when
 * it answers 503 with a ticket, so the client's retry within the grace keeps the place.
 *
 * The grace must exceed the status poll interval and the longest Retry-After handed out, or people who
 * do exactly what they were told lose their place.
 */
export interface Liveness {
  /** ms (the queue's clock) when the waiter was last heard from. */
  lastSeen: number;
  /** Held on an open socket: never abandoned while pinned. */
  pinned: boolean;
}

export function isAbandoned(w: Liveness, now: number, graceMs: number): boolean {
  return !w.pinned && now - w.lastSeen > graceMs;
}
