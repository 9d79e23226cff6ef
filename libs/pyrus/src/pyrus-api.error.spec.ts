import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PyrusApiError } from './pyrus-api.error';

const fixture = (name: string) => readFileSync(resolve(__dirname, '../../../test/fixtures/pyrus', name), 'utf8');

describe('PyrusApiError.fromResponse', () => {
  it('reads error_code from the fixtures and tells token problems from credential problems', () => {
    const invalidToken = PyrusApiError.fromResponse(401, fixture('error_invalid_token.json'), 'GET /tasks/1');
    expect(invalidToken.errorCode).toBe('invalid_token');
    expect(invalidToken.isTokenProblem).toBe(true);
    expect(invalidToken.retryable).toBe(false);

    const credentials = PyrusApiError.fromResponse(401, fixture('error_invalid_credentials.json'), 'Pyrus auth');
    expect(credentials.errorCode).toBe('invalid_credentials');
    expect(credentials.isCredentialProblem).toBe(true);
    expect(credentials.isTokenProblem).toBe(false);
  });

  it('handles a non-JSON 502 from a proxy as a retryable, uncertain error', () => {
    const err = PyrusApiError.fromResponse(502, '<html><body><h1>502 Bad Gateway</h1></body></html>', 'POST /tasks/1/comments');
    expect(err).toMatchObject({ status: 502, errorCode: 'http_502', retryable: true, uncertain: true });
    expect(err.message).toContain('502 Bad Gateway');
  });

  it('makes a 4xx not retryable and a 429 retryable', () => {
    expect(PyrusApiError.fromResponse(400, '{"error_code":"text_missing"}', 'x').retryable).toBe(false);
    expect(PyrusApiError.fromResponse(429, '{"error_code":"too_many_requests"}', 'x').retryable).toBe(true);
  });
});
