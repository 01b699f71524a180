#!/usr/bin/env bash
# Rebuild TestUSDT.json from TestUSDT.sol with the pinned solcjs (npm ci at the project root first).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="$(mktemp -d)"
"$root/node_modules/.bin/solcjs" --optimize --bin --abi -o "$out" "$here/TestUSDT.sol" >/dev/null
python3 - "$out" "$here/TestUSDT.json" <<'PY'
import glob, json, sys
out, target = sys.argv[1], sys.argv[2]
abi = json.load(open(glob.glob(f"{out}/*TestUSDT.abi")[0]))
bytecode = open(glob.glob(f"{out}/*TestUSDT.bin")[0]).read().strip()
json.dump({"contract": "TestUSDT", "compiler": "solcjs 0.8.28 --optimize", "abi": abi, "bytecode": "0x" + bytecode}, open(target, "w"), indent=1)
open(target, "a").write("\n")
PY
rm -rf "$out"
echo "wrote $here/TestUSDT.json"
