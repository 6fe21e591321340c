package server

import (
	"fmt"
	"net/url"

	"github.com/a2agrpc/a2agrpc"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// Request validation. Every rule names the offending field in its ProtoJSON
// spelling, so the caller can fix the request whatever binding it used.

// maxIDLen bounds client-chosen identifiers so they cannot be used to bloat
// the store.
const maxIDLen = 512

func requireID(field, v string) error {
	switch {
	case v == "":
		return a2agrpc.InvalidParams(field, "is required")
	case len(v) > maxIDLen:
		return a2agrpc.InvalidParams(field, "is longer than %d bytes", maxIDLen)
	}
	return nil
}

func checkHistoryLength(field string, n *int32) error {
	if n != nil && *n < 0 {
		return a2agrpc.InvalidParams(field, "must not be negative, got %d", *n)
	}
	return nil
}

func (h *Handler) validateSend(req *a2av1.SendMessageRequest) error {
	m := req.GetMessage()
	if m == nil {
		return a2agrpc.InvalidParams("message", "is required")
	}
	if err := requireID("message.messageId", m.GetMessageId()); err != nil {
		return err
	}
	switch m.GetRole() {
	case a2av1.Role_ROLE_USER, a2av1.Role_ROLE_AGENT:
	case a2av1.Role_ROLE_UNSPECIFIED:
		return a2agrpc.InvalidParams("message.role", "is required (ROLE_USER)")
	default:
		return a2agrpc.InvalidParams("message.role", "unknown role %d", m.GetRole())
	}
	if len(m.GetParts()) == 0 {
		return a2agrpc.InvalidParams("message.parts", "must contain at least one part")
	}
	for i, p := range m.GetParts() {
		if p.GetContent() == nil {
			return a2agrpc.InvalidParams(fmt.Sprintf("message.parts[%d]", i), "must have one of text, raw, url or data")
		}
	}
	if len(m.GetTaskId()) > maxIDLen {
		return a2agrpc.InvalidParams("message.taskId", "is longer than %d bytes", maxIDLen)
	}
	if len(m.GetContextId()) > maxIDLen {
		return a2agrpc.InvalidParams("message.contextId", "is longer than %d bytes", maxIDLen)
	}
	cfg := req.GetConfiguration()
	if err := checkHistoryLength("configuration.historyLength", historyLimit(cfg)); err != nil {
		return err
	}
	if pc := cfg.GetTaskPushNotificationConfig(); pc != nil {
		if err := h.pushSupported(); err != nil {
			return err
		}
		if err := h.validatePushConfig("configuration.taskPushNotificationConfig.", pc); err != nil {
			return err
		}
	}
	return h.checkInputModes(m)
}

// checkInputModes rejects parts whose media type the card does not accept
// (defaultInputModes plus every skill's inputModes; wildcards honoured).
// Parts with no known media type are let through.
func (h *Handler) checkInputModes(m *a2av1.Message) error {
	if h.cfg.card == nil {
		return nil // no card configured: the agent declared nothing to enforce
	}
	accepted := h.card.GetDefaultInputModes()
	for _, s := range h.card.GetSkills() {
		accepted = append(accepted[:len(accepted):len(accepted)], s.GetInputModes()...)
	}
	if len(accepted) == 0 {
		return nil
	}
	for i, p := range m.GetParts() {
		mt := partMediaType(p)
		if mt == "" {
			continue
		}
		ok := false
		for _, a := range accepted {
			if mediaTypeMatches(a, mt) {
				ok = true
				break
			}
		}
		if !ok {
			return a2agrpc.Errorf(a2agrpc.ReasonContentTypeNotSupported,
				"message.parts[%d]: media type %q is not accepted by this agent (accepts %v)", i, mt, accepted).
				WithMeta("mediaType", mt)
		}
	}
	return nil
}

// partMediaType is the declared media type, or the one implied by the part
// kind (text → text/plain, data → application/json).
func partMediaType(p *a2av1.Part) string {
	if mt := p.GetMediaType(); mt != "" {
		return mt
	}
	switch p.GetContent().(type) {
	case *a2av1.Part_Text:
		return "text/plain"
	case *a2av1.Part_Data:
		return "application/json"
	}
	return ""
}

func (h *Handler) validatePushConfig(prefix string, c *a2av1.TaskPushNotificationConfig) error {
	if c.GetUrl() == "" {
		return a2agrpc.InvalidParams(prefix+"url", "is required")
	}
	u, err := url.Parse(c.GetUrl())
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return a2agrpc.InvalidParams(prefix+"url", "must be an absolute http or https URL")
	}
	if len(c.GetUrl()) > 2048 {
		return a2agrpc.InvalidParams(prefix+"url", "is longer than 2048 bytes")
	}
	if len(c.GetId()) > maxIDLen {
		return a2agrpc.InvalidParams(prefix+"id", "is longer than %d bytes", maxIDLen)
	}
	if len(c.GetToken()) > 4096 {
		return a2agrpc.InvalidParams(prefix+"token", "is longer than 4096 bytes")
	}
	if a := c.GetAuthentication(); a != nil && a.GetScheme() == "" {
		return a2agrpc.InvalidParams(prefix+"authentication.scheme", "is required when authentication is set")
	}
	return h.checkWebhook(prefix+"url", c.GetUrl())
}
