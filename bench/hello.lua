-- wrk script for bench/score_submit.py: the same figures as score_submit.lua for a GET route.

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("requests=%d\n", summary.requests))
  io.write(string.format("rps=%.2f\n", summary.requests / seconds))
  io.write(string.format("p50_ms=%.2f\n", latency:percentile(50) / 1000))
  io.write(string.format("p95_ms=%.2f\n", latency:percentile(95) / 1000))
  io.write(string.format("p99_ms=%.2f\n", latency:percentile(99) / 1000))
  io.write(string.format("socket_errors=%d\n", summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout))
  io.write(string.format("non_200=%d\n", summary.errors.status))
end
