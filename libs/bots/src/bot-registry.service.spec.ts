import { ConfigService } from '@nestjs/config';
import { AppConfiguration, BotConfig, ConfigError } from '@app/config';
import { BotRegistry } from './bot-registry.service';
import { AutoReplyHandler } from './handlers/auto-reply.handler';

const configWith = (bots: Partial<BotConfig>[]) => ({ get: () => ({ bots }) }) as unknown as ConfigService<AppConfiguration, true>;

describe('BotRegistry', () => {
  it('refuses to start when a bot names an unknown handler, naming the bot', () => {
    const config = configWith([{ name: 'payments', handler: 'payment-approval-v9' }]);
    expect(() => new BotRegistry(config, [new AutoReplyHandler()])).toThrow(ConfigError);
    expect(() => new BotRegistry(config, [new AutoReplyHandler()])).toThrow(/bot "payments": unknown handler "payment-approval-v9"/);
  });

  it('finds bots and their handlers, and 404s an unknown bot', () => {
    const registry = new BotRegistry(configWith([{ name: 'a', handler: 'auto-reply' }]), [new AutoReplyHandler()]);
    expect(registry.handlerOf(registry.get('a')).name).toBe('auto-reply');
    expect(() => registry.get('b')).toThrow(/No bot named "b"/);
  });
});
