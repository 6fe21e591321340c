package server

import (
	"context"
	"sync"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
	"github.com/a2agrpc/a2agrpc/server/webhook"
)

// pushes is the push notification policy: which logged events are queued
// for a task's webhooks. Every status change is (the spec's typical
// triggers — terminal states, INPUT_REQUIRED, AUTH_REQUIRED — are status
// changes, and WORKING tells a receiver that work resumed); artifact
// updates only with [WithPushArtifactUpdates], since a streaming agent may
// emit many chunks that a receiver can fetch with GetTask instead.
func (h *Handler) pushes(ev *a2av1.StreamResponse) bool {
	if ev == nil || h.delivery == nil {
		return false
	}
	if ev.GetStatusUpdate() != nil {
		return true
	}
	return h.cfg.pushArtifacts && ev.GetArtifactUpdate() != nil
}

// delivery sends the notifications queued in the store's outbox. It exists
// when the card promises push notifications and the store has an outbox.
//
// The deliverer starts with the first notification queued, or at once for
// a durable store, whose outbox may hold deliveries from before a restart
// (or from other replicas).
type delivery struct {
	d     *webhook.Deliverer
	start sync.Once
	run   func()
}

func (h *Handler) newDelivery(ctx context.Context) {
	ob, ok := h.cfg.store.(taskstore.Outbox)
	if !ok || !h.card.GetCapabilities().GetPushNotifications() {
		return
	}
	opts := append([]webhook.Option{webhook.WithLogger(h.log)}, h.cfg.webhookOpts...)
	if h.metrics != nil {
		opts = append(opts, webhook.WithOnResult(h.metrics.pushResult))
	}
	d := webhook.New(ob, opts...)
	dl := &delivery{d: d}
	dl.run = func() {
		h.goBackground(func() {
			if err := d.Run(ctx); err != nil && ctx.Err() == nil {
				h.log.Error("a2agrpc: push delivery stopped", "err", err)
			}
		})
	}
	h.delivery = dl
	if _, durable := h.cfg.store.(taskstore.Reaper); durable {
		dl.start.Do(dl.run)
	}
}

// queued wakes the deliverer after an update that queued notifications.
func (h *Handler) queued() {
	h.delivery.start.Do(h.delivery.run)
	h.delivery.d.Notify()
}

// checkWebhook applies the delivery policy to a webhook URL when a config
// is registered, so that a target the server would refuse to call is
// rejected up front with a clear message rather than silently never called.
func (h *Handler) checkWebhook(field, url string) error {
	if h.delivery == nil {
		return nil
	}
	if err := h.delivery.d.ValidateURL(url); err != nil {
		return a2agrpc.InvalidParams(field, "%v", err)
	}
	return nil
}
