-- POST /v1/folders: a new folder with a unique name in PARENT_ID on every request
-- ("PREFIX-<thread>-<n>"; PREFIX must be unique per wrk invocation).
-- Usage: wrk ... -H "Authorization: Bearer T" -s bench/wrk/create.lua BASE_URL -- PARENT_ID PREFIX
local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local common = dofile(dir .. "common.lua")
setup = common.setup
done = common.report

local parent, prefix
local counter = 0

function init(args)
   parent = assert(args[1], "PARENT_ID missing")
   prefix = assert(args[2], "PREFIX missing") .. "-" .. tostring(thread_number or 1)
   wrk.method = "POST"
   wrk.path = "/v1/folders"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   counter = counter + 1
   local body = string.format('{"name":"%s-%d","parent_id":"%s"}', prefix, counter, parent)
   return wrk.format(nil, nil, nil, body)
end
