import { chooseLogFormat } from './log-format';

describe('chooseLogFormat', () => {
  it('auto: pretty at a terminal, JSON when stdout goes to a pipe, a file or a collector', () => {
    expect(chooseLogFormat('auto', true)).toBe('pretty');
    expect(chooseLogFormat('auto', false)).toBe('json');
  });

  it('an explicit LOG_FORMAT wins over the terminal check', () => {
    expect(chooseLogFormat('json', true)).toBe('json');
    expect(chooseLogFormat('pretty', false)).toBe('pretty');
  });
});
