-- GET the URL given on wrk's command line (headers from -H); only adds the parseable report.
-- Usage: wrk -t1 -c8 -d5s --latency -H "Authorization: Bearer T" -s bench/wrk/get.lua URL
local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local common = dofile(dir .. "common.lua")
done = common.report
