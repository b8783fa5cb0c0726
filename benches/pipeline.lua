-- wrk script: send `depth` requests per write (HTTP pipelining), as TechEmpower does.
-- Usage: wrk -s benches/pipeline.lua URL -- DEPTH   (default 16)
local depth = 16
local path = "/plaintext"

function init(args)
   depth = tonumber(args[1]) or 16
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format(nil, wrk.path)
   end
   req = table.concat(r)
end

function request()
   return req
end
