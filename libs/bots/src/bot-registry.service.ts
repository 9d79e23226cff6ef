import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfiguration, BotConfig, ConfigError } from '@app/config';
import { BotCredentials } from '@app/pyrus';
import { BOT_HANDLERS, BotHandler, BotOf } from './bot-handler';
import { validateBotSettings } from './settings-validation';

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

/**
 * The configured bots, their handlers and their validated settings; refuses to start when a bot names a handler that
 * does not exist or has a setting its handler's settings class does not accept.
 */
@Injectable()
export class BotRegistry {
  private readonly bots = new Map<string, BotConfig>();
  private readonly handlers = new Map<string, BotHandler>();
  private readonly settings = new Map<string, object>();

  constructor(config: ConfigService<AppConfiguration, true>, @Inject(BOT_HANDLERS) handlers: BotHandler[]) {
    for (const handler of handlers) this.handlers.set(handler.name, handler);
    for (const bot of config.get('bots', { infer: true }).bots) {
      if (!this.handlers.has(bot.handler)) {
        const known = [...this.handlers.keys()].join(', ');
        throw new ConfigError(`BOTS_FILE: bot "${bot.name}": unknown handler "${bot.handler}" (known: ${known})`);
      }
      this.settings.set(bot.name, validateBotSettings(bot.name, this.handlers.get(bot.handler)!.settingsClass, bot.settings));
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

  /** The bot's settings as its handler's settings class, validated at boot. */
  settingsOf(bot: BotConfig): object {
    return this.settings.get(bot.name)!;
  }

  /** The bot as its handler's contract methods take it: its bots-file entry and its typed settings. */
  botOf(bot: BotConfig): BotOf {
    return { config: bot, settings: this.settingsOf(bot) };
  }

  all(): BotConfig[] {
    return [...this.bots.values()];
  }
}
