#!/usr/bin/env node
// Drives npm macaroon 3.0.4 (js-macaroon) for tests/integration/test_interop.py.
//
// Input: one JSON object on stdin:
//   {"macaroon": "<base64, any alphabet/padding>", "bytes": false,
//    "add_caveats": ["cond=value", ...] (optional, first-party caveats to append)}
//   With "bytes": true the base64 is decoded by Node's Buffer first and importMacaroon gets a
//   Uint8Array; otherwise importMacaroon gets the string (its own base64 decoder).
// Output: one JSON object on stdout; exit 1 with {"error": ...} if the library throws.
'use strict';
const macaroon = require('macaroon');

const hex = (u8) => Buffer.from(u8).toString('hex');
const b64 = (u8) => Buffer.from(u8).toString('base64');   // standard alphabet, padded

function describe(m) {
  return {
    version: m._version,
    location: m.location,
    identifierHex: hex(m.identifier),
    signatureHex: hex(m.signature),
    caveats: m.caveats.map((c) => ({
      identifier: Buffer.from(c.identifier).toString('utf8'),
      thirdParty: c.vid !== undefined && c.vid !== null,
      location: c.location === undefined ? null : c.location,
    })),
  };
}

function main() {
  const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const src = input.bytes ? new Uint8Array(Buffer.from(input.macaroon, 'base64')) : input.macaroon;
  const m = macaroon.importMacaroon(src);
  const out = describe(m);
  out.exportBinaryB64 = b64(m.exportBinary());
  out.exportJSON = m.exportJSON();
  if (input.add_caveats && input.add_caveats.length) {
    const a = m.clone();
    for (const c of input.add_caveats) a.addFirstPartyCaveat(c);
    out.attenuated = describe(a);
    out.attenuatedB64 = b64(a.exportBinary());
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

try {
  main();
} catch (e) {
  process.stdout.write(JSON.stringify({ error: String(e && e.stack || e) }) + '\n');
  process.exit(1);
}
