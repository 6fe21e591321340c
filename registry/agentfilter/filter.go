// Package agentfilter decides whether an agent matches a registry
// AgentFilter. It is the one definition of "offers this capability", shared by
// the registry's search and watch and by the router's static pools, so a
// capability resolves to the same agents wherever it is evaluated.
package agentfilter

import (
	"strings"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// Matches reports whether reg matches f: its card matches (see [MatchesCard])
// and it is healthy, unless f includes unhealthy agents.
func Matches(f *registryv1.AgentFilter, reg *registryv1.AgentRegistration) bool {
	if reg.GetStatus() == registryv1.AgentStatus_AGENT_STATUS_UNHEALTHY && !f.GetIncludeUnhealthy() {
		return false
	}
	return MatchesCard(f, reg.GetCard())
}

// MatchesCard reports whether card offers what f asks for. Every field set
// in f must hold:
//   - name: the card's name, exactly;
//   - protocol_binding: one of its supported interfaces (case-insensitive);
//   - skill_id and tag: one skill has that id and that tag;
//   - input_mode and output_mode: accepted or produced by that same skill
//     (a skill without modes of its own uses the card's defaults), or, when
//     neither skill_id nor tag is set, by the card's defaults or any skill.
//
// Media types compare case-insensitively, ignoring parameters, and an agent's
// "*/*" or "type/*" accepts any matching type.
func MatchesCard(f *registryv1.AgentFilter, card *a2av1.AgentCard) bool {
	if card == nil {
		return false
	}
	if f.GetName() != "" && card.GetName() != f.GetName() {
		return false
	}
	if b := f.GetProtocolBinding(); b != "" && !servesBinding(card, b) {
		return false
	}
	if f.GetSkillId() == "" && f.GetTag() == "" {
		if modesMatch(f, card.GetDefaultInputModes(), card.GetDefaultOutputModes()) {
			return true
		}
		for _, s := range card.GetSkills() {
			if modesMatch(f, skillModes(s.GetInputModes(), card.GetDefaultInputModes()), skillModes(s.GetOutputModes(), card.GetDefaultOutputModes())) {
				return true
			}
		}
		return false
	}
	for _, s := range card.GetSkills() {
		if f.GetSkillId() != "" && s.GetId() != f.GetSkillId() {
			continue
		}
		if f.GetTag() != "" && !hasTag(s.GetTags(), f.GetTag()) {
			continue
		}
		if modesMatch(f, skillModes(s.GetInputModes(), card.GetDefaultInputModes()), skillModes(s.GetOutputModes(), card.GetDefaultOutputModes())) {
			return true
		}
	}
	return false
}

func servesBinding(card *a2av1.AgentCard, binding string) bool {
	for _, i := range card.GetSupportedInterfaces() {
		if strings.EqualFold(i.GetProtocolBinding(), binding) {
			return true
		}
	}
	return false
}

func hasTag(tags []string, tag string) bool {
	for _, t := range tags {
		if strings.EqualFold(t, tag) {
			return true
		}
	}
	return false
}

// skillModes is a skill's own modes, or the card's defaults when it has none.
func skillModes(own, defaults []string) []string {
	if len(own) > 0 {
		return own
	}
	return defaults
}

func modesMatch(f *registryv1.AgentFilter, in, out []string) bool {
	return (f.GetInputMode() == "" || acceptsMode(in, f.GetInputMode())) &&
		(f.GetOutputMode() == "" || acceptsMode(out, f.GetOutputMode()))
}

// acceptsMode reports whether one of the agent's modes covers want.
func acceptsMode(modes []string, want string) bool {
	wt, ws := splitMediaType(want)
	for _, m := range modes {
		mt, ms := splitMediaType(m)
		if (mt == "*" || mt == wt) && (ms == "*" || ms == ws) {
			return true
		}
	}
	return false
}

// splitMediaType returns the lower-cased type and subtype of a media type,
// parameters dropped ("text/plain; charset=utf-8" → "text", "plain"). A
// value without a slash is its own type with an empty subtype.
func splitMediaType(m string) (typ, sub string) {
	if i := strings.IndexByte(m, ';'); i >= 0 {
		m = m[:i]
	}
	m = strings.ToLower(strings.TrimSpace(m))
	typ, sub, _ = strings.Cut(m, "/")
	return typ, sub
}

// Describe names what f asks for, as "skill_id=extract,tag=pdf" ("any"
// for an empty filter): the one spelling of a capability in metrics, logs
// and error messages.
func Describe(f *registryv1.AgentFilter) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("skill_id", f.GetSkillId())
	add("tag", f.GetTag())
	add("input_mode", f.GetInputMode())
	add("output_mode", f.GetOutputMode())
	add("protocol_binding", f.GetProtocolBinding())
	add("name", f.GetName())
	if f.GetIncludeUnhealthy() {
		add("include_unhealthy", "true")
	}
	if len(parts) == 0 {
		return "any"
	}
	return strings.Join(parts, ",")
}
