-- wrk script for bench/send: POST /relay/sms with the key in RELAY_KEY.
-- Every request has its own destination number; replies other than 201
-- are counted and printed at the end.
local key = os.getenv("RELAY_KEY")
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
	thread_id = thread_id + 1
	thread:set("tid", thread_id)
	table.insert(threads, thread)
end

function init(args)
	non201 = 0
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/json"
	wrk.headers["X-Proxy-Auth"] = key
end

function request()
	counter = counter + 1
	local body = string.format(
		'{"To":"+1415555%04d","From":"+14155550100","Body":"bench %d/%d"}',
		(tid * 1009 + counter) % 10000, tid, counter)
	return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
	if status ~= 201 then
		non201 = non201 + 1
		if non201 <= 3 then io.stderr:write(status .. " " .. body .. "\n") end
	end
end

function done(summary, latency, requests)
	local bad = 0
	for _, t in ipairs(threads) do bad = bad + (t:get("non201") or 0) end
	io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f requests=%d non201=%d errors=%d\n",
		summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(99) / 1000,
		summary.requests, bad,
		summary.errors.connect + summary.errors.read + summary.errors.write +
		summary.errors.status + summary.errors.timeout))
end
