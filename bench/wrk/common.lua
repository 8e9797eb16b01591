-- Shared by bench/wrk/*.lua (loaded with dofile from the script's own directory).
-- report(): wrk's done() callback; prints one machine-readable line that bench/metadata.sh parses:
--   WRK requests=N duration_us=N p50_us=N p99_us=N non2xx=N connect=N read=N write=N timeout=N
-- (non2xx is wrk's errors.status: responses with a status of 400 or more; wrk counts no other).
local M = {}

function M.report(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "WRK requests=%d duration_us=%d p50_us=%.0f p99_us=%.0f non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      e.status, e.connect, e.read, e.write, e.timeout))
end

-- Lines of a file (ids, or "id parent" pairs), in order.
function M.lines(path)
   local out = {}
   local f = assert(io.open(path, "r"), "cannot open " .. path)
   for line in f:lines() do
      if line ~= "" then out[#out + 1] = line end
   end
   f:close()
   assert(#out > 0, path .. " is empty")
   return out
end

-- Gives each wrk thread a number (setup runs in the main state, once per thread).
local threads = 0
function M.setup(thread)
   threads = threads + 1
   thread:set("thread_number", threads)
end

return M
