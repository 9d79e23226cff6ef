import { PyrusApproval, PyrusTask } from '@app/pyrus';
import { MANAGER_USER_ID, PAYMENTS_BOT_USER_ID } from './test-emulator';

/** The payment bot's `fields` setting for the invoice form these tasks are made on (field codes). */
export const INVOICE_FORM_FIELDS = {
  supplier: 'supplier',
  supplierTaxId: 'inn',
  invoiceNumber: 'invoice_no',
  invoiceDate: 'invoice_date',
  amount: 'amount',
  currency: 'currency',
};

/** What an invoice-approval form holds; a field left out is missing from the task. */
export interface Invoice {
  supplier?: string;
  inn?: string;
  invoiceNo?: string;
  date?: string;
  amount?: number;
  currency?: string;
}

/** Where the task stands in its route: the approvals of each step (index 0 = step 1) and the current step. */
export interface RouteState {
  approvals: PyrusApproval[][];
  currentStep: number;
}

/**
 * An invoice task on form 2001. By default a manager approved it at step 1 and it now waits for the payments bot at
 * step 2; `route` puts it elsewhere.
 */
export function invoiceTask(id: number, invoice: Invoice, route?: RouteState): PyrusTask {
  const values: Array<[number, string, string, unknown]> = [
    [1, 'text', 'supplier', invoice.supplier],
    [2, 'text', 'inn', invoice.inn],
    [3, 'text', 'invoice_no', invoice.invoiceNo],
    [4, 'date', 'invoice_date', invoice.date],
    [5, 'money', 'amount', invoice.amount],
    [6, 'text', 'currency', invoice.currency],
  ];
  return {
    id,
    form_id: 2001,
    current_step: route?.currentStep ?? 2,
    author: { id: 77, email: 'accountant@example.org' },
    fields: values.map(([fid, type, code, value]) => ({ id: fid, type, code, name: code, ...(value === undefined ? {} : { value }) })),
    approvals: route?.approvals ?? [
      [{ person: { id: MANAGER_USER_ID, type: 'user' }, approval_choice: 'approved' }],
      [{ person: { id: PAYMENTS_BOT_USER_ID, type: 'bot' }, approval_choice: 'waiting' }],
    ],
    comments: [{ id: id * 10, text: 'Please pay', author: { id: 77 } }],
  };
}
