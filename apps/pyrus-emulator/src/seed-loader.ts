import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PyrusTask } from '@app/pyrus';
import { EmulatorBotInput } from './emulator.types';

export interface SeedData {
  bots: EmulatorBotInput[];
  tasks: PyrusTask[];
  forms: Record<string, unknown>[];
  catalogs: Record<string, unknown>[];
}

/** The default seed shipped beside the sources. */
export const DEFAULT_SEED_DIR = resolve(__dirname, '..', 'seed');

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`Emulator seed: cannot read ${path}: ${(err as Error).message}`);
  }
}

function readFolder(dir: string): unknown[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((f) => {
      const doc = readJson(join(dir, f));
      return Array.isArray(doc) ? (doc as unknown[]) : [doc];
    });
}

/**
 * Reads a seed directory: `bots.json` ({"bots": [...]} or an array), and every *.json file in `tasks/`
 * (a task or `{"task": ...}` as GET /tasks/:id answers), `forms/` and `catalogs/`.
 */
export function loadSeedDir(dir: string): SeedData {
  const root = resolve(dir);
  if (!existsSync(root)) throw new Error(`Emulator seed: directory ${root} does not exist`);
  const botsPath = join(root, 'bots.json');
  const botsDoc = existsSync(botsPath) ? readJson(botsPath) : [];
  const bots = (Array.isArray(botsDoc) ? botsDoc : ((botsDoc as { bots?: unknown[] }).bots ?? [])) as EmulatorBotInput[];
  const tasks = readFolder(join(root, 'tasks')).map((doc) => {
    const d = doc as { task?: PyrusTask };
    return (d.task && typeof d.task === 'object' ? d.task : doc) as PyrusTask;
  });
  return {
    bots,
    tasks,
    forms: readFolder(join(root, 'forms')) as Record<string, unknown>[],
    catalogs: readFolder(join(root, 'catalogs')) as Record<string, unknown>[],
  };
}
