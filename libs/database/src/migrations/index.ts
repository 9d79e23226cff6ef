import { CreateDeliveries1795000000000 } from './1795000000000-CreateDeliveries';
import { CreatePayments1795100000000 } from './1795100000000-CreatePayments';
import { CreateFollowUps1795200000000 } from './1795200000000-CreateFollowUps';
import { CreateCallLog1795300000000 } from './1795300000000-CreateCallLog';
import { CreateAdminAuditLog1795400000000 } from './1795400000000-CreateAdminAuditLog';
import { AdminQueries1795500000000 } from './1795500000000-AdminQueries';
import { PaymentsDecidedAtRequired1795600000000 } from './1795600000000-PaymentsDecidedAtRequired';
import { PaymentTotalsByPeriod1795700000000 } from './1795700000000-PaymentTotalsByPeriod';
import { DeliveriesQueuedInPlace1795800000000 } from './1795800000000-DeliveriesQueuedInPlace';
import { PaymentChecksFunction1795900000000 } from './1795900000000-PaymentChecksFunction';
import { PaymentChecksBudgetPeriods1796000000000 } from './1796000000000-PaymentChecksBudgetPeriods';
import { RenormalisePaymentKeys1796100000000 } from './1796100000000-RenormalisePaymentKeys';
import { DecisionClaims1796500000000 } from './1796500000000-DecisionClaims';
import { OnePaymentPerTask1796600000000 } from './1796600000000-OnePaymentPerTask';
import { PaymentFollowUpIndexes1796750000000 } from './1796750000000-PaymentFollowUpIndexes';
import { RegisterCopy1796900000000 } from './1796900000000-RegisterCopy';
import { InlineReplies1797000000000 } from './1797000000000-InlineReplies';

/** Every migration, oldest first; listed rather than globbed so the build and ts-node see the same set. */
export const migrations = [
  CreateDeliveries1795000000000,
  CreatePayments1795100000000,
  CreateFollowUps1795200000000,
  CreateCallLog1795300000000,
  CreateAdminAuditLog1795400000000,
  AdminQueries1795500000000,
  PaymentsDecidedAtRequired1795600000000,
  PaymentTotalsByPeriod1795700000000,
  DeliveriesQueuedInPlace1795800000000,
  PaymentChecksFunction1795900000000,
  PaymentChecksBudgetPeriods1796000000000,
  RenormalisePaymentKeys1796100000000,
  DecisionClaims1796500000000,
  OnePaymentPerTask1796600000000,
  PaymentFollowUpIndexes1796750000000,
  RegisterCopy1796900000000,
  InlineReplies1797000000000,
];
