/**
 * The classroom: instructor dashboard, broadcast, spotlight, class controls.
 * Requests here carry `role: 'instructor'` unless a learner may send them.
 * (Issue 6 fills these catalogs.)
 */
import type { RequestCatalog } from './catalog';

export const classroomRequests = {} as const satisfies RequestCatalog;
export const classroomMessages = {} as const;
export const classroomServerEvents = {} as const;
