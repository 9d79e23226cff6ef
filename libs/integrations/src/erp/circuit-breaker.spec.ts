import { CircuitBreaker, CircuitOpenError } from './circuit-breaker';

describe('CircuitBreaker', () => {
  let now: number;
  let calls: number;
  const breaker = (over: Partial<ConstructorParameters<typeof CircuitBreaker>[0]> = {}) =>
    new CircuitBreaker({ failureThreshold: 2, cooldownMs: 1000, now: () => now, ...over });
  const fail = () => {
    calls++;
    return Promise.reject(new Error('down'));
  };
  const succeed = () => {
    calls++;
    return Promise.resolve('ok');
  };
  beforeEach(() => {
    now = 0;
    calls = 0;
  });

  it('counts only consecutive failures', async () => {
    const b = breaker();
    await expect(b.run(fail)).rejects.toThrow('down');
    await expect(b.run(succeed)).resolves.toBe('ok');
    await expect(b.run(fail)).rejects.toThrow('down');
    expect(b.state).toBe('closed');
    await expect(b.run(fail)).rejects.toThrow('down');
    expect(b.state).toBe('open');
  });

  it('rejects while open with CircuitOpenError and the time left, without running the call', async () => {
    const b = breaker();
    await b.run(fail).catch(() => undefined);
    await b.run(fail).catch(() => undefined);
    now = 400;
    const err = await b.run(succeed).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect((err as CircuitOpenError).retryInMs).toBe(600);
    expect(calls).toBe(2);
  });

  it('lets exactly one trial through when half-open; the others are rejected meanwhile', async () => {
    const b = breaker();
    await b.run(fail).catch(() => undefined);
    await b.run(fail).catch(() => undefined);
    now = 1000;
    let finishTrial: (v: string) => void = () => undefined;
    const trial = b.run(() => new Promise<string>((resolve) => (finishTrial = resolve)));
    await expect(b.run(succeed)).rejects.toMatchObject({ retryInMs: 0 });
    expect(b.state).toBe('half-open');
    finishTrial('done');
    await expect(trial).resolves.toBe('done');
    expect(b.state).toBe('closed');
    await expect(b.run(succeed)).resolves.toBe('ok');
  });

  it('does not extend the cool-down for a call that began before the circuit opened', async () => {
    const b = breaker();
    let failSlow: (e: Error) => void = () => undefined;
    const slow = b.run(() => new Promise<string>((_, reject) => (failSlow = reject)));
    await b.run(fail).catch(() => undefined);
    await b.run(fail).catch(() => undefined);
    now = 900;
    failSlow(new Error('late'));
    await expect(slow).rejects.toThrow('late');
    now = 1000;
    expect(b.state).toBe('half-open');
  });

  it('treats errors that isFailure rejects as answers (success)', async () => {
    const b = breaker({ isFailure: (err) => (err as Error).message !== 'client error' });
    await b.run(fail).catch(() => undefined);
    await b.run(() => Promise.reject(new Error('client error'))).catch(() => undefined);
    await b.run(fail).catch(() => undefined);
    expect(b.state).toBe('closed');
  });

  it('builds its rejection with openError, given the last failure', async () => {
    const b = breaker({ failureThreshold: 1, openError: (ms, last) => new Error(`wait ${ms}: ${(last as Error).message}`) });
    await b.run(fail).catch(() => undefined);
    await expect(b.run(succeed)).rejects.toThrow('wait 1000: down');
  });

  it('refuses a threshold below 1', () => {
    expect(() => breaker({ failureThreshold: 0 })).toThrow(RangeError);
  });
});
