// The Web Forms engine's answer to "how many choices does each select offer" (@getodk/xforms-engine,
// installed by npm from server/webforms/package-lock.json). Same arguments and output as ChoiceCounts.java:
//   node choice_counts.mjs MEDIA_DIR @FORM.xml "path=value;path=value" ... @OTHER.xml ...
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const webforms = process.env.WEBFORMS_DIR || resolve(here, '../../../server/webforms');
const require = createRequire(join(webforms, 'package.json'));
const engine = require.resolve('@getodk/xforms-engine');
// The engine's bundled XPath parser (Emscripten WebAssembly) looks for CommonJS names when it runs in Node.
Object.assign(globalThis, { __dirname: dirname(engine), __filename: engine, require });
// The engine parses XML with the DOM, as in a browser; jsdom gives Node one (the engine's own tests do so).
const { JSDOM } = await import(pathToFileURL(require.resolve('jsdom')).href);
const { window } = new JSDOM('');
for (const name of ['DOMParser', 'XMLSerializer', 'Node', 'Element', 'Document', 'Attr', 'Text', 'XMLDocument',
  'DocumentFragment', 'CharacterData', 'ProcessingInstruction', 'Comment', 'CDATASection', 'NodeList']) {
  globalThis[name] = window[name];
}
globalThis.document = window.document;
const { createInstance } = await import(pathToFileURL(engine).href);

const [mediaDir, ...args] = process.argv.slice(2);
const fetchFormAttachment = async (url) => {
  const name = basename(new URL(url).pathname);
  return new Response(readFileSync(join(mediaDir, name)), { status: 200, headers: { 'Content-Type': 'text/csv' } });
};

function* walk(node) {
  yield node;
  for (const child of node.currentState.children ?? []) yield* walk(child);
}

let source = null;
let xml = null;
for (const assignments of args) {
  if (assignments.startsWith('@')) {
    source = assignments.slice(1);
    xml = readFileSync(source, 'utf8');
    continue;
  }
  const { root } = await createInstance(xml, { form: { fetchFormAttachment } });
  for (const pair of assignments.split(';').filter(Boolean)) {
    const [path, value] = pair.split(/=(.*)/s);
    const node = [...walk(root)].find((n) => n.currentState.reference === path);
    if (!node) throw new Error(`no question ${path}`);
    if (node.nodeType === 'select') node.selectValue(value);
    else node.setValue(value);
  }
  for (const node of walk(root)) {
    if (node.nodeType === 'select') {
      console.log(`${basename(source)}\t${assignments}\t${node.currentState.reference}\t${node.currentState.valueOptions.length}`);
    }
  }
}
