import { ValueTransformer } from 'typeorm';

/** Pyrus ids fit well inside 2^53; pg returns bigint as a string, so turn it back into a number. */
export const bigintToNumber: ValueTransformer = {
  to: (value?: number | null) => value,
  from: (value?: string | null) => (value === null || value === undefined ? value : Number(value)),
};
