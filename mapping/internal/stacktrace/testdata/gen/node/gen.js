// Writes V8 stacks as OpenTelemetry JS records exception.stacktrace:
// @opentelemetry/sdk-trace-base's Span.recordException takes error.stack.
// Usage: node gen.js OUTDIR
'use strict';
const fs = require('fs');
const path = require('path');
const semver = require('/usr/lib/node_modules/npm/node_modules/semver');

class OrderService {
  load(id) {
    return this.missing.lookup(id); // TypeError
  }
}

function handler(id) {
  return new OrderService().load(id);
}

async function asyncHandler(id) {
  await new Promise((r) => setTimeout(r, 1));
  return [1].map(() => handler(id));
}

function dependency() {
  return new semver.SemVer('not-a-version');
}

const out = process.argv[2];
function write(name, e) {
  fs.writeFileSync(path.join(out, `node_${name}.txt`), e.stack);
  fs.writeFileSync(path.join(out, `node_${name}.type`), `${e.name}\n${e.message}`);
}

try { handler(42); } catch (e) { write('typeerror', e); }
try { dependency(); } catch (e) { write('nodemodules', e); }
try { eval('(function evil(){ throw new RangeError("bad range") })()'); } catch (e) { write('eval', e); }
asyncHandler(7).catch((e) => write('async', e));
