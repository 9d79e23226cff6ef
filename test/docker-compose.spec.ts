import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { parse } from 'yaml';
import { EnvironmentVariables, validateEnvironment } from '../libs/config/src/env.validation';

const ROOT = resolve(__dirname, '..');

/**
 * docker-compose.yml, checked without a Docker engine: parsed as compose reads it (anchors and `<<` merges), its
 * services listed, and the environment each app gets compared with what the apps require: a variable of
 * EnvironmentVariables with neither a default nor an optional mark, and every `${VAR}` of a bots file it may mount.
 */
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<
    string,
    { image?: string; build?: unknown; command?: string[]; environment?: Record<string, string>; volumes?: string[] }
  >;
};

/** A value as compose substitutes it with an empty .env: `${X:-d}` → d, `${X:-}` → '', `${X}` → undefined. */
function substitute(value: string): string | undefined {
  const ref = /^\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}$/.exec(value);
  if (!ref) return value;
  return ref[2] ?? undefined;
}

/** Variables the apps cannot start without: no default in EnvironmentVariables, and neither @IsOptional nor @ValidateIf. */
function requiredVariables(): string[] {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(EnvironmentVariables, '', true, false);
  const conditional = new Set(metadata.filter((m) => m.type === 'conditionalValidation').map((m) => m.propertyName));
  const defaults = new EnvironmentVariables() as unknown as Record<string, unknown>;
  return [...new Set(metadata.map((m) => m.propertyName))].filter((name) => defaults[name] === undefined && !conditional.has(name));
}

/** Every `${NAME}` a bots file refers to (the service substitutes them from its environment at boot). */
function botsFileReferences(path: string): string[] {
  return [...readFileSync(path, 'utf8').matchAll(/"\$\{([A-Za-z_][A-Za-z0-9_]*)\}"/g)].map((m) => m[1]);
}

/** A service's environment as the app sees it when .env sets nothing. */
function resolvedEnvironment(name: string): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(compose.services[name].environment ?? {}).map(([key, value]) => [key, substitute(String(value))]),
  );
}

/** What `environment` lacks of `needed`. */
function missing(environment: Record<string, string> | undefined, needed: string[]): string[] {
  return needed.filter((name) => !(name in (environment ?? {})));
}

/** The bots files compose may mount: it mounts ./config at /app/config and reads BOTS_FILE there. */
const mountedBotsFiles = () =>
  readdirSync(join(ROOT, 'config'))
    .filter((f) => f.endsWith('.json'))
    .map((f) => join(ROOT, 'config', f));

describe('docker-compose.yml', () => {
  it('brings up PostgreSQL, Redis, the api, the worker and the emulator', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'emulator', 'postgres', 'redis', 'worker']);
    expect(compose.services.api.command).toEqual(['node', 'dist/apps/api/src/main.js']);
    expect(compose.services.worker.command).toEqual(['node', 'dist/apps/worker/src/main.js']);
    expect(compose.services.emulator.command).toEqual(['node', 'dist/apps/pyrus-emulator/src/main.js']);
    // The image's dist/ has no seed beside the emulator: the service must name one.
    const seed = compose.services.emulator.environment?.EMULATOR_SEED;
    expect(compose.services.emulator.volumes).toContainEqual(expect.stringMatching(new RegExp(`:${seed}(:ro)?$`)));
  });

  it.each(['api', 'worker'])('the %s gets every variable the apps require, and what it gets passes their validation', (name) => {
    const environment = compose.services[name].environment;
    expect(missing(environment, requiredVariables())).toEqual([]);
    expect(() => validateEnvironment(resolvedEnvironment(name))).not.toThrow();
  });

  it.each(['api', 'worker'])('the %s gets every ${VAR} that a bots file under config/ refers to', (name) => {
    const environment = compose.services[name].environment;
    expect(environment?.BOTS_FILE).toBe('/app/config/bots.json');
    expect(compose.services[name].volumes).toContain('./config:/app/config:ro');
    for (const file of mountedBotsFiles())
      expect({ file, missing: missing(environment, botsFileReferences(file)) }).toEqual({ file, missing: [] });
  });

  it('the check itself catches a variable left out', () => {
    // test/fixtures/bots.test.json refers to ${TEST_BOT_KEY}, which compose does not name: the check must say so.
    const references = botsFileReferences(join(ROOT, 'test/fixtures/bots.test.json'));
    expect(references).toEqual(['TEST_BOT_KEY']);
    expect(missing(compose.services.api.environment, references)).toEqual(['TEST_BOT_KEY']);
    expect(() => validateEnvironment({ ...resolvedEnvironment('api'), LOG_FORMAT: 'colourful' })).toThrow(
      /^Invalid environment:\n {2}LOG_FORMAT: [^\n]*$/,
    );
  });
});
