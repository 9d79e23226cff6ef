import { PyrusEmulator } from './pyrus-emulator';
import { DEFAULT_SEED_DIR } from './seed-loader';

function numberVar(name: string, fallback?: number): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`${name} must be a non-negative number, got "${raw}"`);
    process.exit(2);
  }
  return value;
}

function booleanVar(name: string): boolean | undefined {
  const raw = (process.env[name] ?? '').trim().toLowerCase();
  if (raw === '') return undefined;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  console.error(`${name} must be true or false, got "${process.env[name]}"`);
  process.exit(2);
}

/**
 * `npm run emulator`: a local Pyrus on EMULATOR_PORT (default 4000) seeded from EMULATOR_SEED; EMULATOR_WEBHOOK_BASE
 * points every seeded bot's webhook at another api (default: what the seed says, http://127.0.0.1:3000).
 */
async function main(): Promise<void> {
  const emulator = new PyrusEmulator({
    seedDir: process.env.EMULATOR_SEED || DEFAULT_SEED_DIR,
    quotaLimit: numberVar('EMULATOR_QUOTA_LIMIT'),
    quotaWindowMs: numberVar('EMULATOR_QUOTA_WINDOW_MS'),
    quotaScope: process.env.EMULATOR_QUOTA_SCOPE === 'company' ? 'company' : undefined,
    tokenTtlMs: numberVar('EMULATOR_TOKEN_TTL_MS'),
    maxTokensPerBot: numberVar('EMULATOR_MAX_TOKENS_PER_BOT'),
    timeScale: numberVar('EMULATOR_TIME_SCALE'),
    botToBotWebhooks: booleanVar('EMULATOR_BOT_TO_BOT_WEBHOOKS'),
    log: true,
  });
  // Where the service's api is, when not on this host's port 3000 (in docker-compose: http://api:3000).
  const webhookBase = process.env.EMULATOR_WEBHOOK_BASE?.replace(/\/+$/, '');
  if (webhookBase) {
    for (const bot of emulator.listBots()) emulator.addBot({ ...bot, webhookUrl: `${webhookBase}/bots/${bot.name}/webhook` });
  }
  const url = await emulator.start(numberVar('EMULATOR_PORT', 4000), process.env.EMULATOR_HOST || '127.0.0.1');
  console.log(`[pyrus-emulator] auth:  POST ${emulator.authUrl}`);
  console.log(`[pyrus-emulator] api:   ${emulator.apiUrl}`);
  console.log(`[pyrus-emulator] admin: ${url}/_emulator/state, POST ${url}/_emulator/faults`);
  if (!emulator.botToBotWebhooks) console.log("[pyrus-emulator] no webhooks after a bot's vote (EMULATOR_BOT_TO_BOT_WEBHOOKS=false)");
  for (const bot of emulator.listBots()) {
    console.log(`[pyrus-emulator] bot ${bot.name}: login ${bot.login}, user ${bot.userId}, webhook ${bot.webhookUrl ?? '(none)'}`);
  }
  const shutdown = (signal: string) => {
    console.log(`[pyrus-emulator] ${signal}: stopping`);
    emulator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: Error) => {
  console.error(`[pyrus-emulator] ${err.message}`);
  process.exit(1);
});
