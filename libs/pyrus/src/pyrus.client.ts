import { AuthResponse, PyrusTask, TaskCommentRequest, TaskResponse } from './pyrus.types';

/** A bearer token and the API host it belongs to. */
export interface PyrusAuth {
  accessToken: string;
  apiUrl: string;
}

export interface CommentResult {
  status: number;
  task: PyrusTask;
}

/**
 * The Pyrus API as the service uses it. Abstract so it can be its own DI token; the HTTP implementation is the
 * only one, and tests point it at a local server rather than mocking it.
 */
export abstract class PyrusClient {
  /** POST {authUrl} with the bot's login and security key. */
  abstract authenticate(login: string, securityKey: string): Promise<PyrusAuth>;
  abstract getTask(auth: PyrusAuth, taskId: number): Promise<PyrusTask>;
  abstract createComment(auth: PyrusAuth, taskId: number, request: TaskCommentRequest): Promise<CommentResult>;
}

export type { AuthResponse, TaskResponse };
