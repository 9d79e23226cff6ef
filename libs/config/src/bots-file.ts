import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from './config.error';

/** One bot as the bots file describes it, after `${NAME}` substitution. */
export interface BotConfig {
  /** URL segment: POST /bots/{name}/webhook */
  name: string;
  /** The bot's Pyrus login (bot@<guid>), used with the current key for POST /auth. */
  login: string;
  /** The first is current; every one is accepted for signatures, so a key can be reset without downtime. */
  securityKeys: string[];
  /** Name of a handler in libs/bots. */
  handler: string;
  settings: Record<string, unknown>;
  ackText?: string;
  /**
   * How decisions reach Pyrus. `api`: the webhook is answered at once and the worker posts the decision through the
   * API. `auto` and `inline`: the api waits up to `inlineBudgetMs` for the worker's decision and answers with it (no
   * API call); a decision later than that is posted through the API, as with `api`. They differ in the default budget.
   */
  reply: ReplyMode;
  /** How long the api waits for the decision before answering without it; 0 with `reply: api`. */
  inlineBudgetMs: number;
}

export type ReplyMode = 'inline' | 'api' | 'auto';
export const REPLY_MODES: readonly ReplyMode[] = ['inline', 'api', 'auto'];
/** A few seconds: most decisions take milliseconds, and a slow one (an ERP call) goes through the API instead. */
export const DEFAULT_AUTO_BUDGET_MS = 3000;
/** For a bot whose every decision should travel in the answer: long, yet far below Pyrus's 60 s. */
export const DEFAULT_INLINE_BUDGET_MS = 20000;
/** Pyrus waits 60 s for the answer; the budget leaves room for storing, queueing and the network. */
export const MAX_INLINE_BUDGET_MS = 50000;

export const DEFAULT_BOTS_FILE = 'config/bots.json';
export const EXAMPLE_BOTS_FILE = 'config/bots.example.json';
const BOT_NAME = /^[a-z0-9-]+$/;
const ENV_REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

export interface LoadedBotsFile {
  path: string;
  /** True when BOTS_FILE was not set and config/bots.json is missing, so the example file was used. */
  isExample: boolean;
  bots: BotConfig[];
}

/** Which file to read: BOTS_FILE, else config/bots.json, else (for a first run) the shipped example. */
export function resolveBotsFilePath(botsFileVar: string | undefined, cwd = process.cwd()) {
  if (botsFileVar) return { path: resolve(cwd, botsFileVar), isExample: false };
  const main = resolve(cwd, DEFAULT_BOTS_FILE);
  if (existsSync(main)) return { path: main, isExample: false };
  return { path: resolve(cwd, EXAMPLE_BOTS_FILE), isExample: true };
}

export function loadBotsFile(botsFileVar: string | undefined, env: Record<string, string | undefined>): LoadedBotsFile {
  const { path, isExample } = resolveBotsFilePath(botsFileVar);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError(`BOTS_FILE: cannot read ${path}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`BOTS_FILE: ${path} is not valid JSON (${(err as Error).message})`);
  }
  return { path, isExample, bots: parseBots(substituteEnv(parsed, env, 'bots file'), path) };
}

/** Replaces every string of the exact form `${NAME}` with the environment variable NAME. */
export function substituteEnv(value: unknown, env: Record<string, string | undefined>, where: string): unknown {
  if (typeof value === 'string') {
    const ref = ENV_REFERENCE.exec(value);
    if (!ref) return value;
    const resolved = env[ref[1]];
    if (resolved === undefined || resolved === '') {
      throw new ConfigError(`BOTS_FILE: ${where} refers to \${${ref[1]}}, but the environment variable ${ref[1]} is not set`);
    }
    return resolved;
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, `${where}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, `${where}.${k}`)]));
  }
  return value;
}

function parseBots(doc: unknown, path: string): BotConfig[] {
  const list = (doc as { bots?: unknown })?.bots;
  if (!Array.isArray(list)) throw new ConfigError(`BOTS_FILE: ${path} must hold {"bots": [ ... ]}`);
  const seen = new Set<string>();
  return list.map((raw, index) => {
    const bot = (raw ?? {}) as Record<string, unknown>;
    const label = typeof bot.name === 'string' ? `bot "${bot.name}"` : `bots[${index}]`;
    const fail = (what: string): never => {
      throw new ConfigError(`BOTS_FILE: ${label}: ${what}`);
    };
    if (typeof bot.name !== 'string' || !BOT_NAME.test(bot.name)) fail('"name" must match [a-z0-9-]+');
    const name = bot.name as string;
    if (seen.has(name)) fail('two bots have this name');
    seen.add(name);
    if (typeof bot.login !== 'string' || bot.login.trim() === '') fail('"login" is required');
    const keys = bot.securityKeys;
    if (!Array.isArray(keys) || keys.length === 0) fail('"securityKeys" must list at least one key');
    if ((keys as unknown[]).some((k) => typeof k !== 'string' || k === '')) fail('"securityKeys" must be non-empty strings');
    if (typeof bot.handler !== 'string' || bot.handler === '') fail('"handler" is required');
    if (bot.settings !== undefined && (typeof bot.settings !== 'object' || bot.settings === null || Array.isArray(bot.settings))) {
      fail('"settings" must be an object');
    }
    if (bot.ackText !== undefined && typeof bot.ackText !== 'string') fail('"ackText" must be a string');
    const reply = bot.reply ?? 'api';
    if (!REPLY_MODES.includes(reply as ReplyMode)) fail(`"reply" must be one of ${REPLY_MODES.map((m) => `"${m}"`).join(', ')}`);
    const budget = bot.inlineBudgetMs;
    if (budget !== undefined) {
      if (reply === 'api') fail('"inlineBudgetMs" needs "reply": "auto" or "inline" (with "api" nothing waits)');
      if (typeof budget !== 'number' || !Number.isInteger(budget) || budget < 1 || budget > MAX_INLINE_BUDGET_MS) {
        fail(`"inlineBudgetMs" must be a whole number of milliseconds from 1 to ${MAX_INLINE_BUDGET_MS} (Pyrus waits 60 s for the answer)`);
      }
    }
    return {
      name,
      login: bot.login as string,
      securityKeys: keys as string[],
      handler: bot.handler as string,
      settings: (bot.settings as Record<string, unknown>) ?? {},
      ackText: bot.ackText as string | undefined,
      reply: reply as ReplyMode,
      inlineBudgetMs:
        reply === 'api' ? 0 : ((budget as number | undefined) ?? (reply === 'inline' ? DEFAULT_INLINE_BUDGET_MS : DEFAULT_AUTO_BUDGET_MS)),
    };
  });
}
