/* retry.c - backoff and error classification for core's durable HTTP
 * queues (see retry_impl.h). */
#include <sodium.h>

#include "gw/clock.h"
#include "retry_impl.h"

int64_t
gw_backoff_ms(
    int64_t base_ms, int64_t max_ms, uint32_t attempts, int64_t floor_ms)
{
	int64_t win = base_ms;

	for (uint32_t i = 1; i < attempts && win < max_ms; i++)
		win *= 2;
	if (win > max_ms)
		win = max_ms;
	win = win / 2 + (int64_t) randombytes_uniform((uint32_t) (win / 2 + 1));
	return win > floor_ms ? win : floor_ms;
}

bool
gw_curl_transient(CURLcode c)
{
	switch (c) {
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_NOT_BUILT_IN:
		return false;
	default:
		return true; /* timeouts, refused, resets, DNS, TLS... */
	}
}

/* reap hands every finished transfer of multi to ops->finish. */
static void
reap(CURLM *multi, const struct gw_queue_ops *ops)
{
	CURLMsg *msg;
	int      left;

	while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
		void *job = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(
		    msg->easy_handle, CURLINFO_PRIVATE, (char **) &job);
		if (job != NULL)
			ops->finish(job, msg->data.result);
	}
}

void
gw_queue_run(CURLM *multi, atomic_bool *stopping, int64_t poll_ms,
    const struct gw_queue_ops *ops, void *worker)
{
	int running;

	while (!atomic_load(stopping)) {
		int64_t now = gw_now_ms(), wait = poll_ms;
		int64_t due = ops->fill(worker, now);

		/* settle below leaves no finished job behind: sleep until the
		 * next entry is due, a transfer ends, or a kick */
		if (due > 0 && due - now < wait)
			wait = due > now ? due - now : 0;
		curl_multi_perform(multi, &running);
		reap(multi, ops);
		ops->settle(worker, gw_now_ms());
		curl_multi_poll(multi, NULL, 0, (int) wait, NULL);
		curl_multi_perform(multi, &running);
		reap(multi, ops);
		ops->settle(worker, gw_now_ms());
	}
}
