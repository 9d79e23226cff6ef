import { CreateDeliveries1795000000000 } from './1795000000000-CreateDeliveries';
import { CreatePayments1795100000000 } from './1795100000000-CreatePayments';
import { CreateFollowUps1795200000000 } from './1795200000000-CreateFollowUps';

/** Every migration, oldest first; listed rather than globbed so the build and ts-node see the same set. */
export const migrations = [CreateDeliveries1795000000000, CreatePayments1795100000000, CreateFollowUps1795200000000];
