// Checks every metadata file against the Metadata API's own type definitions, which the
// Salesforce CLI ships (jsforce's schema, generated from the Metadata WSDL): each element is
// known for its type, comes in the WSDL's order, required elements are present, booleans are
// true/false and numbers are numbers. Then compares the package.xml that
// `sf project convert source` wrote with salesforce/manifest/package.xml.
//
// `sf project convert source` only rearranges files; without this, a misspelt or misordered
// element would first show up as a failed deploy in a customer's org.
//
// Usage: node check-metadata.mjs <cli dir> <source dir> <manifest> <converted package.xml>
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const [cliDir, sourceDir, manifestPath, convertedPath] = process.argv.slice(2);
const requireFromCli = createRequire(resolve(cliDir, 'package.json'));
const { ApiSchemas } = requireFromCli('@jsforce/jsforce-node/lib/api/metadata/schema.js');
const { XMLParser } = requireFromCli('fast-xml-parser');

const NS = 'http://soap.sforce.com/2006/04/metadata';
const PRIMITIVES = new Set(['string', 'boolean', 'number', 'any']);
const parser = new XMLParser({ preserveOrder: true, ignoreAttributes: false, parseTagValue: false, trimValues: true });
const problems = [];

// A type's elements in order: the inherited ones (fullName from Metadata) first.
function propsOf(typeName) {
  const schema = ApiSchemas[typeName];
  if (!schema) return null;
  const inherited = schema.extends ? propsOf(schema.extends) : [];
  return [...inherited, ...Object.entries(schema.props)];
}

function describeType(spec) {
  const isArray = Array.isArray(spec);
  const raw = isArray ? spec[0] : spec;
  const optional = isArray || raw.startsWith('?');
  return { isArray, optional, name: raw.replace(/^\?/, '') };
}

function children(node) {
  return node.filter((child) => !('#text' in child) && !('?xml' in child)).map((child) => {
    const tag = Object.keys(child).find((k) => k !== ':@');
    return { tag, content: child[tag] };
  });
}

function textOf(content) {
  return content.map((c) => c['#text'] ?? '').join('');
}

function check(where, typeName, content) {
  const props = propsOf(typeName);
  if (!props) {
    problems.push(`${where}: no schema for type ${typeName}`);
    return;
  }
  const order = props.map(([name]) => name);
  const specs = Object.fromEntries(props);
  let last = -1;
  const seen = new Set();
  for (const { tag, content: inner } of children(content)) {
    const at = `${where}/${tag}`;
    const index = order.indexOf(tag);
    if (index < 0) {
      problems.push(`${at}: not an element of ${typeName}`);
      continue;
    }
    if (index < last) problems.push(`${at}: out of order (${typeName} wants ${order.join(', ')})`);
    last = Math.max(last, index);
    const type = describeType(specs[tag]);
    if (seen.has(tag) && !type.isArray) problems.push(`${at}: repeated, but ${typeName}.${tag} is not a list`);
    seen.add(tag);
    if (PRIMITIVES.has(type.name)) {
      if (children(inner).length) problems.push(`${at}: has child elements, but is a ${type.name}`);
      const value = textOf(inner);
      if (type.name === 'boolean' && !['true', 'false'].includes(value)) problems.push(`${at}: "${value}" is not true/false`);
      if (type.name === 'number' && !/^-?\d+(\.\d+)?$/.test(value)) problems.push(`${at}: "${value}" is not a number`);
    } else {
      check(at, type.name, inner);
    }
  }
  for (const [name, spec] of props) {
    if (!describeType(spec).optional && !seen.has(name)) problems.push(`${where}: ${typeName} needs <${name}>`);
  }
}

function checkFile(path) {
  const doc = parser.parse(readFileSync(path, 'utf8'));
  const roots = children(doc);
  const where = relative(process.cwd(), path);
  if (roots.length !== 1) {
    problems.push(`${where}: expected one root element`);
    return;
  }
  const [{ tag, content }] = roots;
  const rootNode = doc.find((node) => tag in node);
  if (rootNode[':@']?.['@_xmlns'] !== NS) problems.push(`${where}: root <${tag}> is not in ${NS}`);
  check(where, tag, content);
}

function* metadataFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* metadataFiles(path);
    else if (entry.name.endsWith('-meta.xml')) yield path;
  }
}

function packageMembers(path) {
  const doc = parser.parse(readFileSync(path, 'utf8'));
  const pkg = children(doc)[0].content;
  const members = new Set();
  for (const { tag, content } of children(pkg)) {
    if (tag !== 'types') continue;
    const parts = children(content);
    const name = textOf(parts.find((p) => p.tag === 'name').content);
    // A folder is `ThankView` in the Metadata API's docs and `ThankView/` in the CLI's output.
    for (const p of parts.filter((p) => p.tag === 'members')) members.add(`${name}: ${textOf(p.content).replace(/\/$/, '')}`);
  }
  return members;
}

let files = 0;
for (const path of metadataFiles(sourceDir)) {
  checkFile(path);
  files += 1;
}
checkFile(manifestPath);

const shipped = packageMembers(convertedPath);
const listed = packageMembers(manifestPath);
for (const m of shipped) if (!listed.has(m)) problems.push(`manifest: missing ${m}`);
for (const m of listed) if (!shipped.has(m)) problems.push(`manifest: lists ${m}, which the source does not have`);

if (problems.length) {
  console.log(problems.join('\n'));
  console.log(`${problems.length} problem(s) in ${files} metadata files and the manifest.`);
  process.exit(1);
}
console.log(`${files} metadata files match the Metadata API types; the manifest lists exactly the ${shipped.size} components converted.`);
