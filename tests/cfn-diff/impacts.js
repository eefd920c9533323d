// Prints, as JSON, what the CDK's own template diff (`@aws-cdk/cloudformation-diff`'s `fullDiff`,
// what `cdk diff` prints) says of every resource that differs between two templates:
// {"<logical id>": {"type": ..., "impact": "WILL_REPLACE" | ...}}.
// Usage: node impacts.js OLD.template.json NEW.template.json
"use strict";
const fs = require("fs");
const { fullDiff } = require("@aws-cdk/cloudformation-diff");

const [oldPath, newPath] = process.argv.slice(2);
if (!oldPath || !newPath) {
  console.error("usage: node impacts.js OLD.template.json NEW.template.json");
  process.exit(2);
}
const read = (p) => JSON.parse(fs.readFileSync(p, "utf8"));
const diff = fullDiff(read(oldPath), read(newPath));
const out = {};
diff.resources.forEachDifference((id, change) => {
  out[id] = {
    type: change.newResourceType ?? change.oldResourceType,
    impact: change.changeImpact,
  };
});
console.log(JSON.stringify(out));
