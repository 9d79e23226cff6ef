import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfiguration, BotConfig, ConfigError } from '@app/config';
import { BotCredentials } from '@app/pyrus';
import { BOT_HANDLERS, BotHandler } from './bot-handler';

/** How the bot signs in to Pyrus: its login and current key (the first; the others only verify signatures). */
export function botCredentials(bot: BotConfig): BotCredentials {
  return { login: bot.login, securityKey: bot.securityKeys[0] };
}

export class UnknownBotError extends NotFoundException {
  readonly code = 'BOT_UNKNOWN';
  constructor(name: string) {
    super({ statusCode: 404, code: 'BOT_UNKNOWN', message: `No bot named "${name}"` });
  }
}

/** The configured bots and their handlers; refuses to start when a bot names a handler that does not exist. */
@Injectable()
export class BotRegistry {
  private readonly bots = new Map<string, BotConfig>();
  private readonly handlers = new Map<string, BotHandler>();

  constructor(config: ConfigService<AppConfiguration, true>, @Inject(BOT_HANDLERS) handlers: BotHandler[]) {
    for (const handler of handlers) this.handlers.set(handler.name, handler);
    for (const bot of config.get('bots', { infer: true }).bots) {
      if (!this.handlers.has(bot.handler)) {
        const known = [...this.handlers.keys()].join(', ');
        throw new ConfigError(`BOTS_FILE: bot "${bot.name}": unknown handler "${bot.handler}" (known: ${known})`);
      }
      const problems = this.handlers.get(bot.handler)!.validateSettings?.(bot.settings) ?? [];
      if (problems.length) throw new ConfigError(`BOTS_FILE: bot "${bot.name}": settings: ${problems.join('; ')}`);
      this.bots.set(bot.name, bot);
    }
  }

  find(name: string): BotConfig | undefined {
    return this.bots.get(name);
  }

  get(name: string): BotConfig {
    const bot = this.bots.get(name);
    if (!bot) throw new UnknownBotError(name);
    return bot;
  }

  handlerOf(bot: BotConfig): BotHandler {
    return this.handlers.get(bot.handler)!;
  }

  all(): BotConfig[] {
    return [...this.bots.values()];
  }
}
