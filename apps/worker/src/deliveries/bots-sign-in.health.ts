import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { BotRegistry } from '@app/bots';
import { BotTokenStore } from '@app/pyrus';

/** Down while Pyrus refuses a bot's login and key (invalid_credentials, account_blocked), naming the bot. */
@Injectable()
export class BotsSignInHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly bots: BotRegistry,
    private readonly tokens: BotTokenStore,
  ) {}

  async isHealthy(key = 'pyrusSignIn') {
    const session = this.health.check(key);
    const refused: Record<string, string> = {};
    for (const bot of this.bots.all()) {
      const failure = await this.tokens.credentialFailure(bot.login);
      if (failure) refused[bot.name] = failure;
    }
    return Object.keys(refused).length ? session.down({ refused }) : session.up();
  }
}
