-- wrk script for benches/web.sh: POSTs signed GitHub deliveries, each with its own
-- X-GitHub-Delivery. The signature covers only the body, so bodies are signed beforehand:
-- BENCH_BODIES names a file of records "<X-Hub-Signature-256>\t<body length>\n<body>\n".
-- BENCH_EVENT is the X-GitHub-Event; BENCH_RUN makes delivery ids unique across runs;
-- BENCH_THREADS is wrk's -t. Threads take bodies in turn, so no two requests of a run send the
-- same body until the file is used up.

local threads = 0
local counter = 0
-- `thread_id` is a global: setup() sets it in each thread's own Lua state.
local bodies = {}
local event = os.getenv("BENCH_EVENT") or "push"
local run = os.getenv("BENCH_RUN") or tostring(os.time())

function setup(thread)
   threads = threads + 1
   thread:set("thread_id", threads)
end

function init(args)
   local file = assert(io.open(os.getenv("BENCH_BODIES"), "rb"))
   local data = file:read("*a")
   file:close()
   local pos = 1
   while pos <= #data do
      local tab = data:find("\t", pos, true)
      local nl = data:find("\n", tab, true)
      local len = tonumber(data:sub(tab + 1, nl - 1))
      bodies[#bodies + 1] = { data:sub(pos, tab - 1), data:sub(nl + 1, nl + len) }
      pos = nl + len + 2
   end
end

function request()
   counter = counter + 1
   local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
   local pair = bodies[((counter - 1) * threads + thread_id - 1) % #bodies + 1]
   return wrk.format("POST", nil, {
      ["Content-Type"] = "application/json",
      ["X-GitHub-Event"] = event,
      ["X-GitHub-Delivery"] = run .. "-" .. thread_id .. "-" .. counter,
      ["X-Hub-Signature-256"] = pair[1],
   }, pair[2])
end
