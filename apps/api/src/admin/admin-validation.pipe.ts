import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';

/**
 * Every admin query and body goes through its DTO: unknown fields are refused rather than ignored (a misspelt filter
 * must not quietly return everything), and the 400 names each bad field.
 */
export const adminValidationPipe = new ValidationPipe({
  transform: true,
  whitelist: true,
  forbidNonWhitelisted: true,
  exceptionFactory: (errors) => new BadRequestException({ code: 'INVALID_REQUEST', message: flatten(errors).join('; ') }),
});

function flatten(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((e) => {
    const own = Object.values(e.constraints ?? {});
    const path = prefix ? `${prefix}.${e.property}` : e.property;
    return [...own.map((m) => (prefix ? `${path}: ${m}` : m)), ...flatten(e.children ?? [], path)];
  });
}
