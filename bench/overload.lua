-- wrk script for bench/overload.sh: bench/bodies.lua (pre-signed requests,
-- round-robin) plus a count of answers by status class, so the report can tell
-- 2xx throughput, 503s and any other status apart.
--
--   wrk -t1 -c1024 -d10s --timeout 5s -s bench/overload.lua URL -- bodies.tsv
--
-- done() prints one line:
--   OVERLOAD requests=.. duration_s=.. ok2xx=.. s503=.. other=.. ok_rps=.. p50_ms=.. p99_ms=..
--            max_ms=.. timeouts=.. connect_errors=.. read_errors=.. write_errors=..
-- (latency percentiles are over all answers, 2xx and 503 alike).

local dir = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
dofile(dir .. "bodies.lua")

ok2xx, s503, other = 0, 0, 0
local threads_list = {}
local base_setup = setup
function setup(thread)
   base_setup(thread)
   table.insert(threads_list, thread)
end

function response(status, _, _)
   if status >= 200 and status < 300 then
      ok2xx = ok2xx + 1
   elseif status == 503 then
      s503 = s503 + 1
   else
      other = other + 1
   end
end

function done(summary, latency, _)
   local ok, sh, ot = 0, 0, 0
   for _, t in ipairs(threads_list) do
      ok = ok + t:get("ok2xx")
      sh = sh + t:get("s503")
      ot = ot + t:get("other")
   end
   local s = summary.duration / 1e6
   local e = summary.errors
   io.write(string.format(
      "OVERLOAD requests=%d duration_s=%.2f ok2xx=%d s503=%d other=%d ok_rps=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f timeouts=%d connect_errors=%d read_errors=%d write_errors=%d\n",
      summary.requests, s, ok, sh, ot, ok / s,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
      e.timeout, e.connect, e.read, e.write))
end
