/** Wire types, named as in the official Pyrus SDKs (see ../shared/pyrus-protocol.md). */

export type ApprovalChoice = 'approved' | 'rejected' | 'acknowledged' | 'revoked' | 'waiting';

export interface PyrusPerson {
  id: number;
  first_name?: string;
  last_name?: string;
  email?: string;
  type?: 'user' | 'bot' | 'role' | string;
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

/** POST /tasks/{id}/comments body; also what a webhook answer may carry. */
export interface TaskCommentRequest {
  text?: string;
  formatted_text?: string;
  approval_choice?: Exclude<ApprovalChoice, 'waiting'>;
  approval_steps?: number[];
  action?: 'finished' | 'reopened';
  field_updates?: FieldUpdate[];
  reassign_to?: PersonRef;
  approvals_added?: PersonRef[][];
  approvals_removed?: PersonRef[][];
  approvals_rerequested?: PersonRef[][];
  skip_notification?: boolean;
  [key: string]: unknown;
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
