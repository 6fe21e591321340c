package server

import (
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// pushes is the push notification policy: which logged events are queued
// for a task's webhooks. Every status change is (the spec's typical
// triggers — terminal states, INPUT_REQUIRED, AUTH_REQUIRED — are status
// changes, and WORKING tells a receiver that work resumed); artifact
// updates only with [WithPushArtifactUpdates], since a streaming agent may
// emit many chunks that a receiver can fetch with GetTask instead.
func (h *Handler) pushes(ev *a2av1.StreamResponse) bool {
	if ev == nil || !h.card.GetCapabilities().GetPushNotifications() {
		return false
	}
	if ev.GetStatusUpdate() != nil {
		return true
	}
	return h.cfg.pushArtifacts && ev.GetArtifactUpdate() != nil
}
