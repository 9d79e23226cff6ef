import { AdminRole } from '@app/config';

export const ADMIN_ACCESS = 'admin:access';

/** What an admin route needs, and what its audit log entry calls the action (routes that change something). */
export interface AdminAccess {
  role: AdminRole;
  /** Set on routes that change something: they are written to the admin audit log, whatever the outcome. */
  audit?: string;
}
