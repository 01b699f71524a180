-- wrk script for bench/gateway.py: `wrk ... -s bench/wrk/jivapay.lua -- MODE [ARG]`
--   get          the command line's method, path and headers (-H) as they are
--   payin TAG    POST /gateway/payin/init with a merchant_order_id and an Idempotency-Key unique
--                per request (TAG-thread-n), amounts spread over 1000.00..1499.99
-- done() prints one JSON line: requests, seconds, non-2xx, socket errors and latency (µs).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  mode = args[1] or "get"
  tag = args[2] or "bench"
  n = 0
end

function request()
  if mode ~= "payin" then
    return wrk.format()
  end
  n = n + 1
  local order = string.format("%s-%d-%d", tag, id, n)
  local cents = (id * 7919 + n * 104729) % 50000
  local body = string.format(
    '{"amount":"%d.%02d","currency":"RUB","payment_method":"card","merchant_order_id":"%s"}',
    1000 + math.floor(cents / 100), cents % 100, order)
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
  headers["Idempotency-Key"] = order
  return wrk.format("POST", "/gateway/payin/init", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"non2xx":%d,"socket_errors":%d,"timeouts":%d,' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration / 1e6, e.status, e.connect + e.read + e.write, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
