// Builds the /f/ page's bundle with esbuild into dist/: content-hashed files and manifest.json
// (entry name -> hashed file name) that server/web/webforms.py reads. Run by `npm run build`
// (the Makefile); dist/ is never committed.
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import * as esbuild from 'esbuild';

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist');
const result = await esbuild.build({
  entryPoints: { page: 'src/page.js' },
  bundle: true,
  splitting: true,
  format: 'esm',
  minify: true,
  target: 'es2022',
  outdir: 'dist',
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: 'asset-[hash]',
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.png': 'file', '.svg': 'file', '.ico': 'file' },
  define: {
    __VUE_OPTIONS_API__: 'true',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    'process.env.NODE_ENV': '"production"',
  },
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
const files = Object.keys(result.metafile.outputs).map((p) => basename(p));
const entry = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint === 'src/page.js');
const manifest = { page: basename(entry[0]), files: files.filter((f) => !f.endsWith('.map')) };
copyFileSync('src/sw.js', 'dist/sw.js');
writeFileSync('dist/manifest.json', JSON.stringify(manifest, null, 2));
console.log(`web forms bundle: ${manifest.files.length} files, entry ${manifest.page}`);
