/**
 * Runtime switches the room honours, set by an operator without a deploy (src/controls implements
 * them; the room defines what it needs so that it depends on nothing above it).
 */
export interface RoomSwitches {
  /** No waiter of this tenant is admitted from the queue (pause or maintenance); places are kept. */
  paused(tenant: string): boolean;
  /** The operator's message while the tenant is in maintenance ('' for none); null when it is not. */
  maintenance(tenant: string): string | null;
  /**
   * The same as `paused`, as data for a queue that admits elsewhere (the shared room's scripts in
   * Redis): `all` for tenants without a mode of their own, `tenants` for those with one.
   */
  pauseTable(): { all: boolean; tenants: Record<string, boolean> };
  /**
   * Tenants whose own mode makes their people wait by the operator's choice (queue-all, pause,
   * maintenance) rather than for capacity: their waiters do not engage the room for the others.
   */
  heldBack(): readonly string[];
}
