/**
 * The three admission classes a route can put a request in. Same names as the pipeline's
 * `RequestClass`; the room defines its own so that it depends on nothing above it.
 */
export type RoomClass = 'critical' | 'normal' | 'bulk';

/** In priority order: index 0 is served first. */
export const ROOM_CLASSES: readonly RoomClass[] = ['critical', 'normal', 'bulk'];

/** 0 for critical, 1 for normal, 2 for bulk; -1 for anything else. */
export function classIndex(cls: string): number {
  switch (cls) {
    case 'critical':
      return 0;
    case 'normal':
      return 1;
    case 'bulk':
      return 2;
    default:
      return -1;
  }
}
