-- wrk script for bench/score_submit.py: judges post batches of marks to the tablet endpoint.
--
--   wrk -t2 -c100 -d10s -s bench/score_submit.lua URL -- JUDGES BATCH ORDER OUT
--
-- JUDGES: a file with one signed-in judge per line, tab separated: the marks path, the Cookie
-- header, the CSRF token and the judge's cells ("CODE:CRITERION" separated by commas).
-- BATCH: marks per request. ORDER: "forward" or "backward" through each judge's cells (the
-- warm-up takes them from the end, the measured run from the start, so no cell is marked
-- twice). OUT: prefix of the files where each thread writes the client ids the server
-- acknowledged (stored or duplicate), one per line, for counting afterwards.
--
-- Each request takes the next judge of the thread (the threads share the judges out), and the
-- judge's next BATCH cells, each with a client id unique to this run. Every 10th request sends
-- the previous body again, as a tablet does when an answer is lost: those marks must come back
-- as duplicates, never be stored twice.

local RESEND_EVERY = 10

local counter = 0
local threads = {}

function setup(thread)
  thread:set("thread_no", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

local judges = {}
local batch, order, out
local position = 0
local sent = 0
local last = nil
local run_tag

local function split(text, sep)
  local parts = {}
  for part in string.gmatch(text, "([^" .. sep .. "]+)") do
    table.insert(parts, part)
  end
  return parts
end

function init(args)
  local path, size, direction, prefix = args[1], args[2], args[3], args[4]
  batch = tonumber(size)
  order = direction
  local threads_total = tonumber(args[5] or "1")
  run_tag = args[6] or "r"
  local n = 0
  for line in io.lines(path) do
    if n % threads_total == thread_no then
      local fields = split(line, "\t")
      local cells = {}
      for _, cell in ipairs(split(fields[4], ",")) do
        local code, criterion = string.match(cell, "([^:]+):(%d+)")
        table.insert(cells, { code, criterion })
      end
      table.insert(judges, {
        path = fields[1],
        headers = {
          ["Cookie"] = fields[2],
          ["X-CSRFToken"] = fields[3],
          ["Content-Type"] = "application/json",
          ["Accept"] = "application/json",
        },
        cells = cells,
        next = 1,
        no = n,
      })
    end
    n = n + 1
  end
  out = io.open(prefix .. "." .. thread_no, "w")
  acked, refused, conflicts, errors, exhausted = 0, 0, 0, 0, 0
end

function request()
  sent = sent + 1
  if last ~= nil and sent % RESEND_EVERY == 0 then
    return wrk.format("POST", last.path, last.headers, last.body)
  end
  position = position % #judges + 1
  local judge = judges[position]
  local items = {}
  for k = 1, batch do
    local index = judge.next
    if index > #judge.cells then
      exhausted = exhausted + 1
      index = (index - 1) % #judge.cells + 1
    end
    judge.next = judge.next + 1
    if order == "backward" then
      index = #judge.cells - index + 1
    end
    local cell = judge.cells[index]
    local client_id = string.format("%s-%d-%d-%d-%d", run_tag, thread_no, judge.no, sent, k)
    items[k] = string.format(
      '{"client_id":"%s","code":"%s","criterion_id":%s,"value":"1","base":null}',
      client_id, cell[1], cell[2]
    )
  end
  local body = '{"marks":[' .. table.concat(items, ",") .. "]}"
  last = { path = judge.path, headers = judge.headers, body = body }
  return wrk.format("POST", judge.path, judge.headers, body)
end

function response(status, headers, body)
  if status ~= 200 then
    errors = errors + 1
    return
  end
  for item in string.gmatch(body, "{(.-)}") do
    local client_id = string.match(item, '"client_id":"([^"]*)"')
    local state = string.match(item, '"status":"(%a+)"')
    if state == "stored" or state == "duplicate" then
      acked = acked + 1
      out:write(client_id, "\n")
      if acked % 256 == 0 then
        out:flush()
      end
    elseif state == "conflict" then
      conflicts = conflicts + 1
    elseif state ~= nil then
      refused = refused + 1
    end
  end
end

function done(summary, latency, requests)
  local totals = { acked = 0, refused = 0, conflicts = 0, errors = 0, exhausted = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
  end
  local seconds = summary.duration / 1e6
  io.write(string.format("requests=%d\n", summary.requests))
  io.write(string.format("rps=%.2f\n", summary.requests / seconds))
  io.write(string.format("p50_ms=%.2f\n", latency:percentile(50) / 1000))
  io.write(string.format("p95_ms=%.2f\n", latency:percentile(95) / 1000))
  io.write(string.format("p99_ms=%.2f\n", latency:percentile(99) / 1000))
  io.write(string.format("socket_errors=%d\n", summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout))
  io.write(string.format("non_200=%d\n", summary.errors.status))
  for name, value in pairs(totals) do
    io.write(string.format("%s=%d\n", name, value))
  end
end
