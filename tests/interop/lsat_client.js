#!/usr/bin/env node
// Drives npm lsat-js 2.0.6 the way a JS client would, for tests/integration/test_interop.py.
//
// Input: one JSON object on stdin:
//   {"header": "<WWW-Authenticate value>", "preimage": "<64 hex>" (optional)}
//   or {"url": "<protected url>"}: fetch() it first and use its (folded) WWW-Authenticate.
// Output: one JSON object on stdout; exit 1 with {"error": ...} if lsat-js throws.
'use strict';
const { Lsat } = require('lsat-js');

async function main() {
  const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const out = {};
  let header = input.header;
  if (input.url) {
    const res = await fetch(input.url);
    out.status = res.status;
    header = res.headers.get('www-authenticate');   // repeated lines arrive folded with ", "
  }
  out.header = header;
  const lsat = Lsat.fromHeader(header);
  out.paymentHash = lsat.paymentHash;
  out.invoice = lsat.invoice;
  out.invoiceAmount = lsat.invoiceAmount;
  out.baseMacaroon = lsat.baseMacaroon;
  out.id = lsat.id;
  out.validUntil = lsat.validUntil;
  out.caveats = lsat.getCaveats().map((c) => c.encode());
  out.isPending = lsat.isPending();
  if (input.preimage) {
    lsat.setPreimage(input.preimage);   // throws unless sha256(preimage) == paymentHash
    out.isSatisfied = lsat.isSatisfied();
    out.token = lsat.toToken();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ error: String(e && e.stack || e) }) + '\n');
  process.exit(1);
});
