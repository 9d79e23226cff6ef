import { BotCredentials, PyrusAuth } from './pyrus-auth';
import { PyrusCallContext } from './pyrus-call.observer';
import {
  CatalogResponse,
  DiffCatalogRequest,
  FormRegisterRequest,
  FormRegisterResponse,
  FormResponse,
  InboxResponse,
  ProfileResponse,
  PyrusComment,
  PyrusTask,
  SyncCatalogRequest,
  SyncCatalogResponse,
  TaskCommentRequest,
} from './pyrus.types';

/** Who makes a call: the bot (its token comes from the shared cache) and, while it works, a webhook's own token. */
export interface PyrusCaller {
  bot: BotCredentials;
  deliveryToken?: string;
  /** What the call is for (bot, task, delivery, payment), for the call log and the metrics. */
  context?: PyrusCallContext;
}

/** How to recognise the comment on the task if the answer to posting it is lost. */
export interface CommentIntent {
  /** The bot's Pyrus person id (the webhook's user_id), when known. */
  authorId?: number;
  /** When the intent was written: a matching comment must be newer (less clock skew). */
  since: Date;
}

export interface CommentResult {
  task: PyrusTask;
  /** The comment that now carries the decision, when it could be told apart on the task. */
  comment?: PyrusComment;
  /** True when an earlier attempt's comment was found on the task instead of posting again. */
  recovered: boolean;
}

/**
 * The Pyrus API as the service uses it. Abstract so it can be its own DI token; the HTTP implementation is the
 * only one, and tests point it at the project's emulator rather than mocking it.
 */
export abstract class PyrusClient {
  /** POST {authUrl} with the bot's login and security key; no cache (the token store caches). */
  abstract authenticate(bot: BotCredentials): Promise<PyrusAuth>;
  abstract getTask(caller: PyrusCaller, taskId: number): Promise<PyrusTask>;
  /** Posts once: after an uncertain failure it reads the task and posts again only if the comment is not there. */
  abstract createComment(caller: PyrusCaller, taskId: number, request: TaskCommentRequest, intent: CommentIntent): Promise<CommentResult>;
  abstract getForm(caller: PyrusCaller, formId: number): Promise<FormResponse>;
  abstract getFormRegister(caller: PyrusCaller, formId: number, request?: FormRegisterRequest): Promise<FormRegisterResponse>;
  abstract getCatalog(caller: PyrusCaller, catalogId: number, options?: { includeDeleted?: boolean }): Promise<CatalogResponse>;
  abstract syncCatalog(caller: PyrusCaller, catalogId: number, request: SyncCatalogRequest): Promise<SyncCatalogResponse>;
  abstract diffCatalog(caller: PyrusCaller, catalogId: number, request: DiffCatalogRequest): Promise<SyncCatalogResponse>;
  abstract getInbox(caller: PyrusCaller, options?: { itemCount?: number }): Promise<InboxResponse>;
  abstract getProfile(caller: PyrusCaller): Promise<ProfileResponse>;
}
