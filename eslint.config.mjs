// @ts-check
/**
 * ESLint over apps/, libs/ and test/: typescript-eslint's type-aware recommended rules for TypeScript (the types come from
 * tsconfig.json through the project service), ESLint's recommended rules for the few CommonJS files, and
 * eslint-config-prettier last so that no style rule argues with Prettier, which owns formatting (`npm run format:check`).
 * Import cycles are checked by dpdm in `npm run lint:cycles`, which resolves the tsconfig `@app/*` paths in seconds.
 */
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'coverage/', 'node_modules/'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  {
    files: ['apps/**/*.ts', 'libs/**/*.ts', 'test/**/*.ts'],
    extends: [eslint.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A leading underscore names what is taken apart only to be left out (`{ token: _dropped, ...rest }`) or a
      // parameter a signature requires.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Specs and the benchmarks read responses, rows and comments back as untyped JSON (`Record<string, any>`):
    // supertest types `res.body` as `any`, and jest's asymmetric matchers (`expect.any`, `expect.objectContaining`) are
    // typed `any` too. The assertions are what check those shapes, so no-explicit-any and the no-unsafe-* rules only
    // restate them here. Everywhere else (apps, libs, test/support) they stay on, and so does every other rule here.
    files: ['**/*.spec.ts', 'test/**/*.e2e-spec.ts', 'test/bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The emulator echoes whatever JSON a client sent into Pyrus-style error messages and query filters, as Pyrus does:
    // String() of an arbitrary value is what it means there.
    files: ['apps/pyrus-emulator/src/**/*.ts'],
    rules: { '@typescript-eslint/no-base-to-string': 'off' },
  },
  {
    // A migration that has landed is never edited, and QueryRunner.query() answers `any`.
    files: ['libs/database/src/migrations/1796100000000-RenormalisePaymentKeys.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    // jest.config.js and the jest reporter are plain CommonJS run by Node.
    files: ['**/*.js'],
    extends: [eslint.configs.recommended],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly', process: 'readonly' },
    },
  },
  prettier,
);
