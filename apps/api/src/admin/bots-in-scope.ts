import { BotRegistry } from '@app/bots';

/**
 * The bots a task-id lookup covers: the one named, else every configured bot. Indexes lead with the bot, and Pyrus
 * task ids are only unique per account, so a lookup by task id alone probes each bot's part of the index. Rows of a
 * bot since removed from the bots file are found by naming it.
 */
export function botsInScope(registry: BotRegistry, bot?: string): string[] {
  return bot ? [bot] : registry.all().map((b) => b.name);
}
