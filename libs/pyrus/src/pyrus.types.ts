/** Wire types, named as in the official Pyrus SDKs (see docs/pyrus-protocol.md). */

export type ApprovalChoice = 'approved' | 'rejected' | 'acknowledged' | 'revoked' | 'waiting';

export interface PyrusPerson {
  id: number;
  first_name?: string;
  last_name?: string;
  email?: string;
  /** 'user', 'bot' or 'role' as Pyrus documents them; left open for a kind it adds later. */
  type?: string;
  [key: string]: unknown;
}

export interface PyrusApproval {
  person: PyrusPerson;
  approval_choice: ApprovalChoice;
  step?: number;
}

export interface PyrusComment {
  id: number;
  text?: string;
  create_date?: string;
  author?: PyrusPerson;
  approval_choice?: ApprovalChoice;
  /** In a task read or a webhook: the step this comment moved the task to. */
  changed_step?: number;
  /** In a task read or a webhook: set when this comment sent the task back to an earlier step. */
  reset_to_step?: number;
  [key: string]: unknown;
}

export interface PyrusField {
  id: number;
  type?: string;
  name?: string;
  code?: string;
  value?: unknown;
  [key: string]: unknown;
}

export interface PyrusTask {
  id: number;
  text?: string;
  create_date?: string;
  last_modified_date?: string;
  close_date?: string;
  author?: PyrusPerson;
  responsible?: PyrusPerson;
  form_id?: number;
  current_step?: number;
  fields?: PyrusField[];
  approvals?: PyrusApproval[][];
  comments?: PyrusComment[];
  [key: string]: unknown;
}

/** The body Pyrus POSTs to a bot (BotHookRequest in the SDKs). */
export interface BotHookRequest {
  event?: string;
  access_token?: string;
  task_id: number;
  user_id?: number;
  bot_settings?: string;
  task: PyrusTask;
  [key: string]: unknown;
}

export interface PersonRef {
  id?: number;
  email?: string;
}

export interface FieldUpdate {
  id?: number;
  code?: string;
  name?: string;
  value: unknown;
}

/** A file to attach: a fresh upload's guid (optionally a new version of root_id), an existing file, or a link. */
export type NewFile = { guid: string; root_id?: number } | { attachment_id: number } | { url: string; name: string };

export type ChannelType =
  | 'email'
  | 'telegram'
  | 'web'
  | 'facebook'
  | 'vk'
  | 'viber'
  | 'mobile_app'
  | 'web_widget'
  | 'moy_sklad'
  | 'zadarma'
  | 'amo_crm'
  | 'instagram'
  | 'private_channel'
  | 'jira'
  | 'beeline'
  | 'api_telephony'
  | 'zoom'
  | 'web_form'
  | 'whats_app'
  | 'custom'
  | 'sms'
  | 'max_messenger';

/** POST /tasks/{id}/comments body (protocol section 3); also what a webhook answer may carry. */
export interface TaskCommentRequest {
  text?: string;
  formatted_text?: string;
  /** New subject of a simple task. */
  subject?: string;
  approval_choice?: Exclude<ApprovalChoice, 'waiting'>;
  /** Steps the vote applies to; default: the current step. */
  approval_steps?: number[];
  action?: 'finished' | 'reopened';
  reassign_to?: PersonRef;
  field_updates?: FieldUpdate[];
  /** Outer array: steps (index 0 = step 1); inner: persons. */
  approvals_added?: PersonRef[][];
  approvals_removed?: PersonRef[][];
  approvals_rerequested?: PersonRef[][];
  subscribers_added?: PersonRef[];
  subscribers_removed?: PersonRef[];
  subscribers_rerequested?: PersonRef[];
  participants_added?: PersonRef[];
  participants_removed?: PersonRef[];
  /** YYYY-MM-DD; either this or `due`. */
  due_date?: string;
  /** YYYY-MM-DDThh:mm:ssZ (UTC). */
  due?: string;
  /** Minutes, only with `due`. */
  duration?: number;
  cancel_due?: boolean;
  scheduled_date?: string;
  scheduled_datetime_utc?: string;
  cancel_schedule?: boolean;
  added_list_ids?: number[];
  removed_list_ids?: number[];
  attachments?: NewFile[];
  channel?: { type: ChannelType; to?: { email?: string; name?: string }; from?: { email?: string; name?: string }; phone?: string };
  spent_minutes?: number;
  skip_satisfaction?: boolean;
  edit_comment_id?: number;
  skip_notification?: boolean;
  skip_auto_reopen?: boolean;
}

export interface TaskResponse {
  task: PyrusTask;
}

export interface AuthResponse {
  access_token: string;
  api_url?: string;
  files_url?: string;
}

export interface PyrusErrorBody {
  error?: string;
  error_message?: string;
  error_code?: string;
}

/** GET /forms/{id} */
export interface FormResponse {
  id: number;
  name?: string;
  steps?: Record<string, string>;
  fields?: PyrusField[];
  deleted_or_closed?: boolean;
  [key: string]: unknown;
}

/**
 * POST /forms/{id}/register. Field filters are keys `fld{fieldId}` with Pyrus's value syntax: "v" (equals / prefix),
 * "gt{v}", "lt{v}", "gt{a},lt{b}", "a,b,c" (any of), "empty", "*" (any value).
 */
export interface FormRegisterRequest {
  steps?: number[];
  include_archived?: 'y';
  modified_before?: string;
  modified_after?: string;
  created_before?: string;
  created_after?: string;
  closed_before?: string;
  closed_after?: string;
  field_ids?: number[];
  task_ids?: number[];
  item_count?: number;
  due_filter?: 'overdue' | 'overdue_on_step' | 'past_due' | { overdue_steps: number[] };
  sort?: 'id';
  /** A filter on the task id, as on a field (`gt123`): how a read of more than `item_count` tasks goes on. */
  id?: string;
  [fieldFilter: `fld${number}`]: string;
}

export interface FormRegisterResponse {
  tasks: PyrusTask[];
}

export interface CatalogItem {
  item_id?: number;
  values: string[];
  deleted?: boolean;
}

export interface CatalogResponse {
  catalog_id: number;
  name?: string;
  version?: number;
  catalog_headers?: Array<{ name: string; type?: string }>;
  items?: CatalogItem[];
  [key: string]: unknown;
}

/** POST /catalogs/{id}: every item or text column not listed is deleted; apply=false is a dry run. */
export interface SyncCatalogRequest {
  apply: boolean;
  catalog_headers: string[];
  items: Array<{ values: string[] }>;
}

export interface SyncCatalogResponse {
  apply: boolean;
  added?: CatalogItem[];
  updated?: CatalogItem[];
  deleted?: CatalogItem[];
  catalog_headers?: Array<{ name: string; type?: string }>;
}

/** POST /catalogs/{id}/diff: upsert or delete by the first column. */
export interface DiffCatalogRequest {
  upsert?: Array<{ values: string[] }>;
  delete?: string[];
}

export interface InboxResponse {
  tasks: PyrusTask[];
  [key: string]: unknown;
}

export interface ProfileResponse {
  person_id: number;
  first_name?: string;
  last_name?: string;
  email?: string;
  [key: string]: unknown;
}
