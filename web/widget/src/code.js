// codeGroups splits a code into the groups the widget shows: groups of
// three and four digits, the threes first, as few groups as possible (so
// "123 456 7890", "1234 5678", "123 456 789", "1234 5678 9012"). A code
// shorter than six digits stays one group. The groups are for the eye only:
// screen readers get the digits one by one, and copying or dialling uses
// the plain digits.
export function codeGroups(code) {
  const n = code.length;
  if (n < 6) return [code];
  const groups = Math.ceil(n / 4);
  const threes = groups * 4 - n;
  const out = [];
  let at = 0;
  for (let i = 0; i < groups; i++) {
    const size = i < threes ? 3 : 4;
    out.push(code.slice(at, at + size));
    at += size;
  }
  return out;
}

// spokenCode is what a screen reader reads: the digits one by one.
export function spokenCode(code) {
  return code.split('').join(' ');
}
