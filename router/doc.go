// Package router sends A2A calls to agents by capability instead of by
// address. A [Router] asks a [Resolver] which endpoints offer a capability
// (a registry AgentFilter: a skill, a tag, media types...) on every call,
// and a [Route] calls them as one agent: it has the eleven operations of
// client.Client with the same signatures (see [Agent]), and spreads,
// retries and fails over the calls per its [Policy].
//
//	res := router.Static(
//		router.Endpoint{ID: "translator-1", Card: card1},
//		router.Endpoint{ID: "translator-2", Card: card2},
//	)
//	r, err := router.New(res,
//		router.WithClientOptions(client.WithTLS(tlsCfg)),
//		router.WithPolicy(router.Policy{Timeout: 10 * time.Second}),
//		router.WithBreaker(router.Breaker{Failures: 3, OpenFor: 15 * time.Second, HalfOpen: 1}))
//	if err != nil { ... }
//	defer r.Close()
//
//	translate := r.Route(&registryv1.AgentFilter{SkillId: "translate"},
//		router.Policy{Balance: router.LeastOutstanding, SharedState: true})
//	resp, err := translate.SendMessage(ctx, req)
//	task, err := translate.GetTask(ctx, &a2av1.GetTaskRequest{Id: resp.GetTask().GetId()})
//
// Rules pick the route from the message itself ([Rule], [ParseRules]):
//
//	rules, err := router.ParseRules(yamlBytes)
//	r, err := router.New(res, router.WithRules(rules...))
//	resp, err := r.SendMessage(ctx, req) // routed by skill metadata, part kind, media type
//
// The guarantees, in short (details on [Route], [Retry] and [Breaker]):
//
//   - a message reaches at most one agent, once: sends are never repeated,
//     and move to another endpoint only when nothing was sent;
//   - reads and other calls safe to repeat are retried with exponential
//     backoff and jitter, on another endpoint where the task allows;
//   - an endpoint that keeps failing is skipped for a while (one circuit
//     breaker per endpoint, shared by all routes);
//   - calls about a task go to the endpoint that has it, learned from the
//     answers, unless the endpoints share their task store.
//
// Each endpoint gets one client.Client, made on first use from its card
// and kept until the endpoint disappears from the resolutions (or its card
// changes) and its last call has ended.
package router
