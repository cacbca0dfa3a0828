// Builds the agent console into web/dist/console/: index.html and assets/
// named after a hash of their content (app-<hash>.js, app-<hash>.css,
// icon-<hash>.svg), so the server can let browsers keep assets for a year
// and never the page. The output depends only on the sources and the
// lockfile: CI rebuilds it and compares with what is committed.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'console');
const pkg = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));

// Browsers of the last years: EventSource, <dialog>, fetch, replaceChildren.
const target = ['chrome100', 'firefox100', 'safari15.4', 'edge100'];

const common = {
  bundle: true,
  minify: true,
  target,
  platform: 'browser',
  legalComments: 'none',
  write: false,
  logLevel: 'warning',
  absWorkingDir: here,
};

const js = await build({
  ...common,
  entryPoints: ['src/main.js'],
  format: 'esm',
  define: { __VERSION__: JSON.stringify(pkg.version) },
  outfile: 'app.js',
});
const css = await build({ ...common, entryPoints: ['src/style.css'], outfile: 'app.css' });

const hashed = (name, ext, body) => `${name}-${createHash('sha256').update(body).digest('hex').slice(0, 12)}.${ext}`;
const assets = {
  js: { body: js.outputFiles[0].text, name: '' },
  css: { body: css.outputFiles[0].text, name: '' },
  icon: { body: readFileSync(join(here, 'src', 'icon.svg'), 'utf8'), name: '' },
};
assets.js.name = hashed('app', 'js', assets.js.body);
assets.css.name = hashed('app', 'css', assets.css.body);
assets.icon.name = hashed('icon', 'svg', assets.icon.body);

const index = readFileSync(join(here, 'src', 'index.html'), 'utf8')
  .replaceAll('{{js}}', '/agent/assets/' + assets.js.name)
  .replaceAll('{{css}}', '/agent/assets/' + assets.css.name)
  .replaceAll('{{icon}}', '/agent/assets/' + assets.icon.name)
  .replaceAll('{{version}}', pkg.version);
if (/\{\{/.test(index)) throw new Error('index.html has a placeholder the build does not fill');

// Start clean, so an asset of an older build never lingers.
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });
writeFileSync(join(out, 'index.html'), index);
for (const a of Object.values(assets)) writeFileSync(join(out, 'assets', a.name), a.body);

const kb = (n) => (n / 1024).toFixed(1) + ' KiB';
for (const a of Object.values(assets)) {
  const raw = Buffer.byteLength(a.body);
  console.log(`${a.name}: ${kb(raw)}, ${kb(gzipSync(a.body, { level: 9 }).length)} gzipped`);
}
