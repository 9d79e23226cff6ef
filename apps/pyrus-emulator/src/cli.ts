import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PyrusTask } from '@app/pyrus';
import { DeliveryRecord, EmulatorBotInput } from './emulator.types';
import { PyrusEmulator } from './pyrus-emulator';
import { DEFAULT_SEED_DIR, loadSeedDir } from './seed-loader';

const USAGE = `Usage: npm run pyrus -- send --bot NAME --task path/to/task.json [options]

Sends one signed delivery, as Pyrus does: X-Pyrus-Sig, X-Pyrus-Retry 1/3, then 2/3 and 3/3 after 61 s and 122 s
when the answer is not a 2xx within 60 s.

  --bot NAME          bot from the seed's bots.json (or from --bots)
  --task FILE         a task, {"task": ...} as GET /tasks/:id answers, or a whole webhook body
  --url URL           webhook URL (default: the bot's webhookUrl)
  --event NAME        event (default: the file's "event", else "comment")
  --seed DIR          seed directory (default: EMULATOR_SEED or apps/pyrus-emulator/seed)
  --bots FILE         a bots file ({"bots": [...]}, e.g. config/bots.json) to take the bot from
  --key KEY           security key to sign with (overrides the bot's)
  --time-scale N      multiply the 60 s / 61 s / 122 s times (e.g. 0.01)
  --emulator URL      ask a running emulator to send it (its access_token then works against that emulator)
`;

type Args = Record<string, string>;

function parseArgs(argv: string[]): { command?: string; args: Args } {
  const [command, ...rest] = argv;
  const args: Args = {};
  for (let i = 0; i < rest.length; i++) {
    const key = rest[i];
    if (!key.startsWith('--')) throw new Error(`Unexpected argument "${key}"`);
    const [name, inline] = key.slice(2).split('=', 2);
    if (inline !== undefined) args[name] = inline;
    else {
      const value = rest[i + 1];
      if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
      args[name] = value;
      i++;
    }
  }
  return { command, args };
}

function readTaskFile(path: string): { task: PyrusTask; event?: string } {
  const doc = JSON.parse(readFileSync(resolve(path), 'utf8')) as { task?: PyrusTask; event?: string };
  const task = (doc.task && typeof doc.task === 'object' ? doc.task : doc) as PyrusTask;
  if (!Number.isSafeInteger(task.id)) throw new Error(`${path}: the task has no numeric "id"`);
  return { task, event: doc.task ? doc.event : undefined };
}

function printRecord(record: DeliveryRecord): void {
  for (const a of record.attempts) {
    console.log(
      `attempt ${a.retryHeader} at +${a.offsetMs} ms: ${a.status ?? a.error}${a.responseBody ? ` ${a.responseBody.slice(0, 200)}` : ''}`,
    );
  }
  console.log(`delivery ${record.outcome} (${record.url})`);
}

async function send(args: Args): Promise<number> {
  if (!args.bot || !args.task) throw new Error('--bot and --task are required');
  const { task, event: fileEvent } = readTaskFile(args.task);
  const event = args.event ?? fileEvent ?? 'comment';
  const timeScale = args['time-scale'] !== undefined ? Number(args['time-scale']) : undefined;

  if (args.emulator) {
    const res = await fetch(`${args.emulator.replace(/\/+$/, '')}/_emulator/deliveries`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ bot: args.bot, task, event, url: args.url, wait: true }),
    });
    const body = (await res.json()) as { delivery?: DeliveryRecord; error?: string };
    if (!body.delivery) throw new Error(`emulator answered ${res.status}: ${body.error ?? ''}`);
    printRecord(body.delivery);
    return body.delivery.outcome === 'delivered' ? 0 : 1;
  }

  const bots: EmulatorBotInput[] = args.bots
    ? ((JSON.parse(readFileSync(resolve(args.bots), 'utf8')) as { bots?: EmulatorBotInput[] }).bots ?? [])
    : loadSeedDir(args.seed ?? (process.env.EMULATOR_SEED || DEFAULT_SEED_DIR)).bots;
  const emulator = new PyrusEmulator({ bots, timeScale, log: (line) => console.log(line) });
  const known = emulator.listBots().find((b) => b.name === args.bot);
  if (!known && !args.key)
    throw new Error(
      `Unknown bot "${args.bot}"; known: ${
        emulator
          .listBots()
          .map((b) => b.name)
          .join(', ') || 'none'
      }`,
    );
  if (!known) emulator.addBot({ name: args.bot, login: `${args.bot}@emulator`, securityKey: args.key });
  else if (args.key) emulator.addBot({ name: args.bot, login: known.login, securityKey: args.key });
  const record = await emulator.sendDelivery({ bot: args.bot, task, event, url: args.url });
  printRecord(record);
  return record.outcome === 'delivered' ? 0 : 1;
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (parsed.command !== 'send') {
    console.error(USAGE);
    process.exit(parsed.command === undefined || parsed.command === 'help' ? 0 : 2);
  }
  process.exit(await send(parsed.args));
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
