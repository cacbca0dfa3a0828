// Builds the widget into web/dist/widget/: veilig-contact.js (one IIFE
// script, global VeiligContact), veilig-contact.css and the licences of what
// the bundle contains. The output depends only on the sources and the
// lockfile, so CI can rebuild it and compare with what is committed.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'widget');
const pkg = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));

// Browsers of the last years: EventSource, <dialog>, fetch, URL.
const target = ['chrome100', 'firefox100', 'safari15.4', 'edge100'];

const common = {
  bundle: true,
  minify: true,
  target,
  platform: 'browser',
  legalComments: 'none',
  metafile: true,
  write: false,
  logLevel: 'warning',
  absWorkingDir: here,
};

const js = await build({
  ...common,
  entryPoints: ['src/index.js'],
  format: 'iife',
  globalName: 'VeiligContact',
  define: { __VERSION__: JSON.stringify(pkg.version) },
  outfile: join(out, 'veilig-contact.js'),
});
const css = await build({
  ...common,
  entryPoints: ['src/widget.css'],
  outfile: join(out, 'veilig-contact.css'),
});

// Which packages ended up in the bundle, for the banner and the licences.
const packages = new Map();
for (const result of [js, css]) {
  for (const input of Object.keys(result.metafile.inputs)) {
    const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
    if (!m || packages.has(m[1])) continue;
    const dir = join(here, 'node_modules', m[1]);
    const p = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    packages.set(m[1], { name: m[1], version: p.version, license: p.license, repository: repo(p), dir });
  }
}
const list = [...packages.values()].sort((a, b) => (a.name < b.name ? -1 : 1));

function repo(p) {
  const r = typeof p.repository === 'string' ? p.repository : p.repository && p.repository.url;
  return (r || p.homepage || '').replace(/^git\+/, '').replace(/\.git$/, '');
}

const banner =
  `/*! Veilig Contact widget ${pkg.version}. Contains ` +
  list.map((p) => `${p.name} ${p.version}`).join(', ') +
  '; their licences are in veilig-contact.licenses.txt */\n';

mkdirSync(out, { recursive: true });
for (const result of [js, css]) {
  for (const f of result.outputFiles) writeFileSync(f.path, banner + f.text);
}

let licenses = `Third-party software in the Veilig Contact widget ${pkg.version}\n`;
for (const p of list) {
  licenses += `\n${'='.repeat(72)}\n${p.name} ${p.version}\nLicence: ${p.license || 'not stated'}\nSource: ${p.repository}\n`;
  const file = readdirSync(p.dir).find((f) => /^(licen[sc]e|copying)(\.|$)/i.test(f));
  if (file && existsSync(join(p.dir, file))) licenses += '\n' + readFileSync(join(p.dir, file), 'utf8').trim() + '\n';
}
writeFileSync(join(out, 'veilig-contact.licenses.txt'), licenses);

for (const name of ['veilig-contact.js', 'veilig-contact.css']) {
  const body = readFileSync(join(out, name));
  const gz = gzipSync(body, { level: 9 }).length;
  console.log(`${name}: ${(body.length / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzipped`);
}
