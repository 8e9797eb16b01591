-- PATCH /v1/files/{id} {"parent_id": ...}: moves the files listed in STATE_FILE (lines
-- "<file id> <its current folder id>") in turn to the other of FOLDER_A and FOLDER_B, so every
-- request is a real move (the script reads where each file is before every measurement).
-- Usage: wrk ... -H "Authorization: Bearer T" -s bench/wrk/move.lua BASE_URL -- STATE_FILE FOLDER_A FOLDER_B
local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local common = dofile(dir .. "common.lua")
setup = common.setup
done = common.report

local files, where = {}, {}
local folder_a, folder_b
local counter = 0

function init(args)
   folder_a = assert(args[2], "FOLDER_A missing")
   folder_b = assert(args[3], "FOLDER_B missing")
   for _, line in ipairs(common.lines(assert(args[1], "STATE_FILE missing"))) do
      local id, parent = line:match("^(%S+)%s+(%S+)$")
      assert(id, "bad line in state file: " .. line)
      files[#files + 1] = id
      where[id] = parent
   end
   wrk.method = "PATCH"
   wrk.headers["Content-Type"] = "application/json"
end

-- wrk calls request() once on the first thread's state before the run to check the request
-- and never sends it: that call must not flip a file's recorded folder.
local checked = false

function request()
   if thread_number == 1 and not checked then
      checked = true
      local id = files[1]
      return wrk.format(nil, "/v1/files/" .. id, nil, string.format('{"parent_id":"%s"}', where[id]))
   end
   counter = counter + 1
   local id = files[(counter - 1) % #files + 1]
   local target = (where[id] == folder_a) and folder_b or folder_a
   where[id] = target
   return wrk.format(nil, "/v1/files/" .. id, nil, string.format('{"parent_id":"%s"}', target))
end
