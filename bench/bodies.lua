-- wrk script for bench/load.sh: POSTs pre-signed Alexa requests round-robin, each
-- with its own SignatureCertChainUrl and Signature-256 headers.
--
--   wrk -t1 -c16 -d10s -s bench/bodies.lua http://127.0.0.1:18080/ -- bodies.tsv
--
-- bodies.tsv: one request a line, "cert-url<TAB>signature-256<TAB>body" (bench/sign_bodies.py).
-- done() prints one machine-readable line that load.sh parses:
--   RESULT requests=.. duration_s=.. rps=.. p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. non2xx=.. socket_errors=..

local requests = {}
local n = 0
local i = 0

-- Runs in the main Lua state once per wrk thread: give each thread its own start
-- offset so two threads do not send the same requestId at the same moment.
local threads = 0
function setup(thread)
   thread:set("offset", threads * 1000)
   threads = threads + 1
end

function init(args)
   local path = args[1] or error("usage: ... -s bodies.lua URL -- BODIES.tsv")
   local file = io.open(path, "r") or error("cannot open " .. path)
   for line in file:lines() do
      local url, sig, body = line:match("^([^\t]+)\t([^\t]+)\t(.+)$")
      if url then
         n = n + 1
         requests[n] = wrk.format("POST", nil, {
            ["Content-Type"] = "application/json",
            ["SignatureCertChainUrl"] = url,
            ["Signature-256"] = sig,
         }, body)
      end
   end
   file:close()
   if n == 0 then error("no requests in " .. path) end
   i = (offset or 0) % n
end

function request()
   i = i % n + 1
   return requests[i]
end

function done(summary, latency, _)
   local s = summary.duration / 1e6
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_s=%.2f rps=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d socket_errors=%d\n",
      summary.requests, s, summary.requests / s,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000,
      e.status, e.connect + e.read + e.write + e.timeout))
end
