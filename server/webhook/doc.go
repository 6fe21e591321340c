// Package webhook delivers A2A push notifications: it drains the
// transactional outbox a [taskstore.Outbox] keeps and POSTs each queued
// event to the webhook registered for it.
//
// Delivery is at least once. A [Deliverer] claims deliveries under a lease,
// sends them, and only then completes or reschedules them, so a process that
// dies mid-attempt merely delays a notification until the lease runs out;
// receivers are expected to tolerate duplicates, as A2A requires.
//
// Webhook URLs come from API callers, so the agent must not become a way to
// reach its own network (SSRF). A [Policy] decides which addresses may be
// contacted. [Policy.ValidateURL] rejects obviously bad targets when a push
// config is registered, but the check that matters runs in the dialer on the
// address actually being connected to, after DNS resolution: a name that
// resolved to a public address at registration can resolve to 127.0.0.1 at
// delivery time (DNS rebinding), and only a connect-time check sees that.
// Redirects are never followed, for the same reason and so that
// credentials never travel to a host nobody registered.
//
// The token and credentials of a push config are secrets: they go into
// request headers and nowhere else. Logs and [Result] errors name the
// receiver by host only, because a webhook URL's path or query is often a
// secret too.
package webhook
