import { isDependencyFailure } from './dependency-failure';

describe('isDependencyFailure', () => {
  it('recognises a server that is down or went away', () => {
    expect(isDependencyFailure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isDependencyFailure(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDependencyFailure(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDependencyFailure(new Error('Connection is closed.'))).toBe(true);
    expect(isDependencyFailure(Object.assign(new Error('the database system is shutting down'), { code: '57P03' }))).toBe(true);
    // TypeORM's QueryFailedError keeps the driver's error beside its own.
    expect(isDependencyFailure(Object.assign(new Error('query failed'), { driverError: { code: '08006', message: 'x' } }))).toBe(true);
  });

  it('leaves request faults and bugs alone', () => {
    expect(isDependencyFailure(Object.assign(new Error('invalid input syntax for type uuid'), { code: '22P02' }))).toBe(false);
    expect(isDependencyFailure(Object.assign(new Error('duplicate key'), { driverError: { code: '23505', message: 'dup' } }))).toBe(false);
    expect(isDependencyFailure(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(false);
    expect(isDependencyFailure(undefined)).toBe(false);
  });
});
