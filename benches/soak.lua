-- wrk script for benches/soak.sh: keep-alive traffic over the benchmark routes with a
-- share of handler panics and invalid responses mixed in.
local paths = {
   "/plaintext", "/json", "/plaintext", "/json", "/plaintext", "/plaintext",
   "/plaintext", "/json", "/fault/panic", "/fault/bad-header",
}
local i = 0

function request()
   i = i + 1
   return wrk.format("GET", paths[(i % #paths) + 1])
end
