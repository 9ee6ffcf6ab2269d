// Validates an OpenAPI document with @apidevtools/swagger-parser (maintained;
// for 3.1 it checks the document against the OpenAPI Initiative's 3.1 JSON
// Schema and resolves every $ref). Run by test/suites/81-openapi.sh:
//   node validate.js NODE_MODULES_DIR docs/openapi.yaml
const path = require("path");
const SwaggerParser = require(path.join(process.argv[2], "@apidevtools/swagger-parser"));
const version = require(path.join(process.argv[2], "@apidevtools/swagger-parser/package.json")).version;

SwaggerParser.validate(process.argv[3])
  .then((api) => {
    console.log(`swagger-parser ${version}: valid OpenAPI ${api.openapi} document "${api.info.title}" ${api.info.version}`);
  })
  .catch((err) => {
    console.log(`swagger-parser ${version}: ${err.message}`);
    for (const d of err.details || []) console.log("  " + JSON.stringify(d).slice(0, 400));
    process.exit(1);
  });
