// Copies the demo pages into web/dist/demo/, where `veilig` embeds them.
// They are plain HTML, CSS and JavaScript modules: nothing to bundle, and
// the output is byte for byte the sources, so CI's rebuild compares equal.
import { cpSync, rmSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
const out = join(here, '..', 'dist', 'demo');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
cpSync(src, out, { recursive: true });

let files = 0;
const count = (d) => {
  for (const f of readdirSync(d)) {
    const p = join(d, f);
    if (statSync(p).isDirectory()) count(p);
    else files++;
  }
};
count(out);
console.log(`demo pages: ${files} files in web/dist/demo`);
