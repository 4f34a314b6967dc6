-- wrk script for every benchmark scenario (bench/run.py sets the environment).
--   SCENARIO      retrieve | page_first | page_deep | create_delete | audit | check_hit | check_miss
--                 | auth_hit | through_gateway
--   ROSTER_KEY    the admin key sent with every request
--   PROJECT_ID    the project whose members are read; CREATE_PROJECT_ID the one written to
--   USERS         members of PROJECT_ID: user ids are bench_user_id(0 .. USERS-1)
--   DEEP_AFTER    the cursor of page_deep; AUDIT_QUERY the audit filter
--   MAX_REQUESTS  each thread stops after this many responses (wrk's -d bounds the time)
--   CHECK_KEYS    project keys seeded: bench_project_key(0 .. CHECK_KEYS-1); check_hit asks about
--                 the first again and again, check_miss about each of its thread's slice once
-- create_delete adds users to CREATE_PROJECT_ID and removes each once her addition is answered.

local scenario = os.getenv("SCENARIO")
local key = os.getenv("ROSTER_KEY")
local project = os.getenv("PROJECT_ID")
local create_project = os.getenv("CREATE_PROJECT_ID")
local users = tonumber(os.getenv("USERS"))
local deep_after = os.getenv("DEEP_AFTER")
local audit_query = os.getenv("AUDIT_QUERY")
local max_requests = tonumber(os.getenv("MAX_REQUESTS"))
local check_keys = tonumber(os.getenv("CHECK_KEYS"))

local next_thread = 0
local threads = {}
function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

local headers = { ["Authorization"] = "Bearer " .. key }
local json_headers = { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json" }
local responses = 0
local added = {}      -- create_delete: users added and not yet removed
local next_user = -1
local members_path = "/v1/organization/projects/" .. project .. "/users"

local function user_id(i)
  return string.format("user-%026d", i)
end

local function project_key(j)
  return string.format("sk-proj-bench%040d", j)
end

local next_key = -1

function init(args)
  math.randomseed(1000 + thread_index)
end

function request()
  if scenario == "retrieve" then
    return wrk.format("GET", members_path .. "/" .. user_id(math.random(0, users - 1)), headers)
  elseif scenario == "page_first" then
    return wrk.format("GET", members_path .. "?limit=100", headers)
  elseif scenario == "page_deep" then
    return wrk.format("GET", members_path .. "?limit=100&after=" .. deep_after, headers)
  elseif scenario == "check_hit" or scenario == "check_miss" then
    local key = 0
    if scenario == "check_miss" then
      local slice = math.floor(check_keys / tonumber(os.getenv("THREADS")))
      next_key = next_key + 1
      key = thread_index * slice + next_key % slice
    end
    return wrk.format("POST", "/v1/gateway/check", json_headers,
      '{"api_key":"' .. project_key(key) .. '","permission":"api.model.request"}')
  elseif scenario == "auth_hit" then
    -- Forward auth as nginx asks it, about the cached key.
    return wrk.format("GET", "/v1/gateway/auth", {
      ["Authorization"] = "Bearer " .. project_key(0),
      ["X-Original-URI"] = "/v1/chat/completions",
      ["X-Original-Method"] = "POST",
    })
  elseif scenario == "through_gateway" then
    -- A model request as a client sends it, to nginx (with or without Roster in the path).
    return wrk.format("POST", "/v1/chat/completions", {
      ["Authorization"] = "Bearer " .. project_key(0),
      ["Content-Type"] = "application/json",
      ["X-Roster-Model"] = "gpt-4o",
    }, '{"model":"gpt-4o","messages":[]}')
  elseif scenario == "audit" then
    return wrk.format("GET", "/v1/organization/audit_logs?" .. audit_query, headers)
  elseif scenario == "create_delete" then
    -- Removes the users whose addition has been answered, else adds the next user of this
    -- thread's own slice (round and round), so that no two requests race on one user.
    local path = "/v1/organization/projects/" .. create_project .. "/users"
    if #added > 0 then
      return wrk.format("DELETE", path .. "/" .. table.remove(added), headers)
    end
    local slice = math.floor(users / tonumber(os.getenv("THREADS")))
    next_user = next_user + 1
    local user = user_id(thread_index * slice + next_user % slice)
    return wrk.format("POST", path, json_headers, '{"user_id":"' .. user .. '","role":"member"}')
  end
  error("unknown SCENARIO " .. tostring(scenario))
end

local unexpected = 0
denials = 0  -- checks answered "allowed": false; global, so that done() can read each thread's
function response(status, headers, body)
  responses = responses + 1
  -- The first few failures are shown: bench/run.py fails the run on any.
  local denied = (scenario == "check_hit" or scenario == "check_miss")
    and not body:find('"allowed":true', 1, true)
  if denied then
    denials = denials + 1
  end
  if (status >= 300 or denied) and unexpected < 3 then
    unexpected = unexpected + 1
    io.write(string.format("UNEXPECTED %d %s\n", status, body))
  end
  if scenario == "create_delete" and status == 200 and body:find('"object":"organization.project.user"', 1, true) then
    table.insert(added, body:match('"id":"(user%-%d+)"'))
  end
  if responses >= max_requests then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local denied = 0
  for _, thread in ipairs(threads) do
    denied = denied + (thread:get("denials") or 0)
  end
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"denied":%d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, e.connect, e.read, e.write, e.status, e.timeout, denied))
end
