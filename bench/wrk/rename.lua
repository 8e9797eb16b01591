-- PATCH /v1/files/{id} {"name": ...}: renames the files listed in IDS_FILE (one id per line)
-- in turn, each time to a new unique name ("PREFIX-<thread>-<n>.txt").
-- Usage: wrk ... -H "Authorization: Bearer T" -s bench/wrk/rename.lua BASE_URL -- IDS_FILE PREFIX
local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local common = dofile(dir .. "common.lua")
setup = common.setup
done = common.report

local ids, prefix
local counter = 0

function init(args)
   ids = common.lines(assert(args[1], "IDS_FILE missing"))
   prefix = assert(args[2], "PREFIX missing") .. "-" .. tostring(thread_number or 1)
   wrk.method = "PATCH"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   counter = counter + 1
   local id = ids[(counter - 1) % #ids + 1]
   local body = string.format('{"name":"%s-%d.txt"}', prefix, counter)
   return wrk.format(nil, "/v1/files/" .. id, nil, body)
end
