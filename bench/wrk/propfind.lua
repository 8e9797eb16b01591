-- PROPFIND the URL given on wrk's command line (Authorization from -H) with the properties a
-- file manager asks for; Depth from the DEPTH environment variable (default 1).
-- Usage: DEPTH=1 wrk -t2 -c16 -d8s -H "Authorization: Basic B64" -s bench/wrk/propfind.lua URL
local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local common = dofile(dir .. "common.lua")
wrk.method = "PROPFIND"
wrk.headers["Depth"] = os.getenv("DEPTH") or "1"
wrk.headers["Content-Type"] = "application/xml; charset=utf-8"
wrk.body = '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/>'
   .. '<D:getcontentlength/><D:getlastmodified/><D:getetag/><D:getcontenttype/></D:prop></D:propfind>'
done = common.report
