import { Request } from 'express';
import { AdminActor } from './admin-token.verifier';

/** An admin request once its token is verified: the guard (or the Bull Board middleware) sets who is calling. */
export interface AdminRequest extends Request {
  adminActor?: AdminActor;
}
