// How the widget groups a code for the eye (web/widget/src/code.js), for
// every length the backend may be configured with (6..16 digits). Needs no
// browser; run by TestWidgetCodeGroups in cmd/veilig.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codeGroups, spokenCode } from '../src/code.js';

test('the examples', () => {
  assert.deepEqual(codeGroups('1234567890'), ['123', '456', '7890']);
  assert.deepEqual(codeGroups('12345678'), ['1234', '5678']);
  assert.deepEqual(codeGroups('123456789'), ['123', '456', '789']);
  assert.deepEqual(codeGroups('123456789012'), ['1234', '5678', '9012']);
  assert.deepEqual(codeGroups('123456'), ['123', '456']);
  assert.deepEqual(codeGroups('1234567890123456'), ['1234', '5678', '9012', '3456']);
});

test('every length from 6 to 16: groups of 3 or 4, threes first, all digits kept', () => {
  const digits = '9876543210987654';
  for (let n = 6; n <= 16; n++) {
    const code = digits.slice(0, n);
    const groups = codeGroups(code);
    assert.equal(groups.join(''), code, `length ${n}`);
    assert.equal(groups.length, Math.ceil(n / 4), `length ${n}: as few groups as possible`);
    for (const g of groups) assert.ok(g.length === 3 || g.length === 4, `length ${n}: group ${g}`);
    const sizes = groups.map((g) => g.length);
    assert.deepEqual(sizes, [...sizes].sort(), `length ${n}: threes before fours`);
  }
});

test('screen readers get the digits one by one', () => {
  assert.equal(spokenCode('1234567890'), '1 2 3 4 5 6 7 8 9 0');
});
