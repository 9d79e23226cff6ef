import { getMetadataStorage } from 'class-validator';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ts from 'typescript';
import { EnvironmentVariables } from './env.validation';

/**
 * docs/configuration.md against the code it describes, so the two cannot drift: every environment variable the
 * validation knows, with its default; every key of a bot in the bots file; every setting of every handler. A name
 * documented but gone from the code fails too.
 */
const ROOT = resolve(__dirname, '../../..');
const DOC = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
const BOTS_DIR = join(ROOT, 'libs/bots/src');

/** The text under each heading of the given level, by heading (without the #s). */
function sections(text: string, level: 2 | 3): Map<string, string> {
  const marker = `${'#'.repeat(level)} `;
  const result = new Map<string, string>();
  let heading: string | undefined;
  let lines: string[] = [];
  for (const line of text.split('\n')) {
    const isHeading = /^#{1,6} /.test(line);
    if (isHeading && (line.startsWith(marker) || line.match(/^#+/)![0].length < level)) {
      if (heading !== undefined) result.set(heading, lines.join('\n'));
      heading = line.startsWith(marker) ? line.slice(marker.length).trim() : undefined;
      lines = [];
    } else if (heading !== undefined) {
      lines.push(line);
    }
  }
  if (heading !== undefined) result.set(heading, lines.join('\n'));
  return result;
}

function section(text: string, level: 2 | 3, heading: string): string {
  const found = sections(text, level).get(heading);
  if (found === undefined) throw new Error(`docs/configuration.md has no "${'#'.repeat(level)} ${heading}" section`);
  return found;
}

/** Table rows whose first cell is one `name`: name -> the cells after it. */
function documentedRows(text: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const match = /^\|\s*`([^`]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (!match) continue;
    if (rows.has(match[1])) throw new Error(`docs/configuration.md documents ${match[1]} twice in one table`);
    rows.set(
      match[1],
      match[2].split(/(?<!\\)\|/).map((cell) => cell.trim()),
    );
  }
  return rows;
}

/** Every property of the validated environment: those with a default, and the optional ones without. */
function environmentVariableNames(): string[] {
  const withDefaults = Object.keys(new EnvironmentVariables());
  const validated = getMetadataStorage()
    .getTargetValidationMetadatas(EnvironmentVariables, '', true, false)
    .map((m) => m.propertyName);
  return [...new Set([...withDefaults, ...validated])].sort();
}

function parse(path: string): ts.SourceFile {
  return ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, true);
}

function interfaces(source: ts.SourceFile): Map<string, ts.InterfaceDeclaration> {
  const found = new Map<string, ts.InterfaceDeclaration>();
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node)) found.set(node.name.text, node);
  });
  return found;
}

function classes(source: ts.SourceFile): Map<string, ts.ClassDeclaration> {
  const found = new Map<string, ts.ClassDeclaration>();
  source.forEachChild((node) => {
    if (ts.isClassDeclaration(node) && node.name) found.set(node.name.text, node);
  });
  return found;
}

/**
 * The leaf settings of a settings class as dotted paths: the class it extends and a property typed with a known class
 * (of the same file or the payment bots' shared folder) are followed into.
 */
function classSettingPaths(node: ts.ClassDeclaration, local: Map<string, ts.ClassDeclaration>, prefix = ''): string[] {
  const paths: string[] = [];
  for (const heritage of node.heritageClauses ?? []) {
    for (const base of heritage.types) {
      const parent = local.get(base.expression.getText());
      if (!parent) throw new Error(`${node.name?.text} extends ${base.expression.getText()}, a class the docs test cannot find`);
      paths.push(...classSettingPaths(parent, local, prefix));
    }
  }
  for (const member of node.members) {
    if (!ts.isPropertyDeclaration(member) || !member.type) continue;
    const name = `${prefix}${member.name.getText()}`;
    const type = member.type;
    if (ts.isTypeReferenceNode(type) && local.has(type.typeName.getText()))
      paths.push(...classSettingPaths(local.get(type.typeName.getText())!, local, `${name}.`));
    else paths.push(name);
  }
  return paths;
}

/** "payment-approval" -> "PaymentApprovalSettings", the root settings class of that bot's folder. */
const settingsClassName = (handler: string) => `${handler.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase())}Settings`;

/**
 * The leaf settings of an interface as dotted paths: an inline object type or an interface of the same file is
 * followed into, anything else (a string, a union of literals, a field selector) is a leaf.
 */
function settingPaths(members: ts.NodeArray<ts.TypeElement>, local: Map<string, ts.InterfaceDeclaration>, prefix = ''): string[] {
  const paths: string[] = [];
  for (const member of members) {
    if (!ts.isPropertySignature(member) || !member.type) continue;
    const name = `${prefix}${member.name.getText()}`;
    const type = member.type;
    if (ts.isTypeLiteralNode(type)) paths.push(...settingPaths(type.members, local, `${name}.`));
    else if (ts.isTypeReferenceNode(type) && local.has(type.typeName.getText()))
      paths.push(...settingPaths(local.get(type.typeName.getText())!.members, local, `${name}.`));
    else paths.push(name);
  }
  return paths;
}

describe('docs/configuration.md', () => {
  describe('environment variables', () => {
    const documented = documentedRows(section(DOC, 2, 'Environment variables'));
    // Defaults are numbers and strings.
    const defaults = new EnvironmentVariables() as unknown as Record<string, string | number | undefined>;

    it('lists every variable the validation knows, and no other', () => {
      const names = environmentVariableNames();
      expect(names.length).toBeGreaterThan(40);
      expect([...documented.keys()].sort()).toEqual(names);
    });

    it.each(environmentVariableNames())('gives %s its default, an example and a meaning', (name) => {
      const [defaultCell, example, meaning] = documented.get(name) ?? [];
      const value = defaults[name];
      if (value === undefined) expect(defaultCell).toMatch(/^\(none\b/);
      else expect(defaultCell).toBe(`\`${String(value)}\``);
      expect(example).toMatch(/\S/);
      expect(meaning).toMatch(/\S/);
    });
  });

  it('lists every key of a bot in the bots file, and no other', () => {
    const botConfig = interfaces(parse(join(ROOT, 'libs/config/src/bots-file.ts'))).get('BotConfig');
    expect(botConfig).toBeDefined();
    const keys = settingPaths(botConfig!.members, new Map()).sort();
    expect(keys).toEqual(expect.arrayContaining(['name', 'securityKeys', 'handler', 'settings']));
    expect([...documentedRows(section(DOC, 2, 'The bots file')).keys()].sort()).toEqual(keys);
  });

  // One folder per bot under libs/bots/src, named as its handler, with the settings class in <handler>.settings.ts.
  const handlerNames = readdirSync(BOTS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(BOTS_DIR, entry.name, `${entry.name}.settings.ts`)))
    .map((entry) => entry.name);

  // The classes the payment bots' settings build on live in their shared folder.
  const SHARED_SETTINGS_CLASSES = new Map(
    readdirSync(join(BOTS_DIR, 'payments'))
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'))
      .flatMap((file) => [...classes(parse(join(BOTS_DIR, 'payments', file)))]),
  );

  it('finds the handlers', () => {
    expect(handlerNames).toEqual(
      expect.arrayContaining(['auto-reply', 'duplicate-check', 'budget-check', 'payment-approval', 'payment-order']),
    );
  });

  it.each(handlerNames)('lists every setting of the %s handler, and no other', (handlerName) => {
    const local = new Map([...SHARED_SETTINGS_CLASSES, ...classes(parse(join(BOTS_DIR, handlerName, `${handlerName}.settings.ts`)))]);
    const root = local.get(settingsClassName(handlerName));
    expect(root).toBeDefined();
    const paths = classSettingPaths(root!, local).sort();
    const handlerSettings = section(section(DOC, 2, 'Handler settings'), 3, `\`${handlerName}\``);
    expect([...documentedRows(handlerSettings).keys()].sort()).toEqual(paths);
  });
});
