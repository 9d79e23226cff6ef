import { ClassConstructor, plainToInstance } from 'class-transformer';
import { registerDecorator, ValidationArguments, ValidationError, ValidationOptions, validateSync } from 'class-validator';
import { ConfigError } from '@app/config';

/**
 * A bot's `settings` from the bots file as an instance of its handler's settings class, or a ConfigError that names
 * the bot, each key path and what is expected there. Run at boot, so a wrong setting stops the service before any
 * task reaches the bot.
 */
export function validateBotSettings<S extends object>(
  botName: string,
  settingsClass: ClassConstructor<S>,
  raw: Record<string, unknown>,
): S {
  const settings = plainToInstance(settingsClass, raw);
  const problems = flattenErrors(validateSync(settings, { forbidUnknownValues: false }));
  if (problems.length) throw new ConfigError(`BOTS_FILE: bot "${botName}": settings: ${problems.join('; ')}`);
  return settings;
}

/** "path: what is expected" for each failed constraint, nested classes included. */
function flattenErrors(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const path = `${prefix}${error.property}`;
    const own = Object.values(error.constraints ?? {}).map((message) => `${path}: ${message}`);
    return [...own, ...flattenErrors(error.children ?? [], `${path}.`)];
  });
}

/**
 * A rule across settings (one setting needs another): `check` sees the whole object the property belongs to. Unlike
 * ValidateIf, it runs whether or not the property is set.
 */
export function Requires<T extends object>(check: (object: T) => boolean, options: ValidationOptions & { message: string }) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: `requires: ${options.message}`,
      target: target.constructor,
      propertyName,
      options,
      constraints: [],
      validator: { validate: (_value: unknown, args: ValidationArguments) => check(args.object as T) },
    });
}

/** A form field named by its code (a string), its id (a number) or an object with `code`, `id` or `name`. */
export function IsFieldSelector(options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isFieldSelector',
      target: target.constructor,
      propertyName,
      options: { message: 'a field code (string), id (number) or {"code"|"id"|"name": …} is expected', ...options },
      constraints: [],
      validator: {
        validate(value: unknown) {
          if ((typeof value === 'string' && value !== '') || Number.isInteger(value)) return true;
          if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
          const { code, id, name } = value as { code?: unknown; id?: unknown; name?: unknown };
          return typeof code === 'string' || Number.isInteger(id) || typeof name === 'string';
        },
      },
    });
}
