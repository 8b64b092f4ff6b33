-- One script for every scenario, driven by environment variables:
--   BENCH_METHOD  GET or POST
--   BENCH_BODY    a form body for POST (may contain {TOKEN}, replaced from the pool)
--   BENCH_AUTH    an Authorization header value
--   BENCH_POOL    a file of single-use values (refresh tokens, codes), one a line; each wrk
--                 thread takes its own slice, so no value is sent twice.
--   BENCH_POOL_HEADER  send each pool value in this header (a DPoP proof) instead of the body.
local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local auth = os.getenv("BENCH_AUTH")
local pool_file = os.getenv("BENCH_POOL")
local pool_header = os.getenv("BENCH_POOL_HEADER")

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  wrk.method = method
  if body then
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  if auth then
    wrk.headers["Authorization"] = auth
  end
  pool = {}
  pos = 0
  if pool_file then
    local nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
    local i = 0
    for line in io.lines(pool_file) do
      if i % nthreads == id then
        table.insert(pool, line)
      end
      i = i + 1
    end
  end
  if not pool_file then
    wrk.body = body
    static_request = wrk.format()
  end
end

function request()
  if static_request then
    return static_request
  end
  pos = pos + 1
  local value = pool[pos] or "exhausted"
  if pool_header then
    wrk.headers[pool_header] = value
    return wrk.format(nil, nil, nil, body)
  end
  return wrk.format(nil, nil, nil, string.gsub(body, "{TOKEN}", value))
end

function done(summary, latency, requests)
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"status_errors":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
