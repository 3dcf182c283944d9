"use strict";
// Loads the compiled addon; throws (with the build hint) when it was not built.
module.exports = require("./build/Release/mechinterp_gemm.node");
