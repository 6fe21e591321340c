package router

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/a2agrpc/a2agrpc"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// SkillMetadataKey is the metadata key a caller names the skill it wants
// under, for [Match.Skill]: "skill" in the message's metadata (or, when
// the message has none, the request's), a string such as "translate". A2A
// carries no skill field; a metadata key is how a caller that knows the
// skill ids of an agent card says which one it is asking for.
const SkillMetadataKey = "skill"

// Part kinds for [Match.PartKind].
const (
	PartText = "text" // a text part
	PartFile = "file" // a file, inline (raw bytes) or by URL
	PartData = "data" // a structured data part
)

// Match selects messages. Every field set must hold; the zero Match
// matches every message, which makes a catch-all rule.
//
// Metadata values are read from the message's metadata, or from the
// request's when the message does not have the key. String values compare
// exactly; booleans and numbers by their usual spelling ("true", "3").
type Match struct {
	// Skill is the value of [SkillMetadataKey] in the metadata.
	Skill string
	// PartKind asks for a part of that kind: [PartText], [PartFile] or
	// [PartData].
	PartKind string
	// MediaType asks for a part of that media type, compared
	// case-insensitively without parameters; "image/*" and "*/*" match
	// any subtype. With PartKind, one part must satisfy both.
	MediaType string
	// Metadata asks for these metadata keys with these values.
	Metadata map[string]string
}

// Rule sends the messages it matches to a capability. [Router.SendMessage]
// and [Router.SendStreamingMessage] take the first rule, in order, whose
// Match matches; a last rule with an empty Match is the default. Rules are
// given with [WithRules] or read from YAML with [ParseRules].
type Rule struct {
	// Name labels the rule's route in metrics and logs; unique. Empty
	// takes "rule-<index>".
	Name string
	// Match selects the messages.
	Match Match
	// Capability is what the agents must offer (see agentfilter.MatchesCard);
	// required, though it may be empty to mean any agent.
	Capability *registryv1.AgentFilter
	// Policy is laid over the router's default (see [Policy]).
	Policy Policy
}

func (r Rule) validate() error {
	var errs []error
	if r.Capability == nil {
		errs = append(errs, errors.New("capability: missing"))
	}
	if err := r.Match.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := r.Policy.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("policy: %w", err))
	}
	return errors.Join(errs...)
}

func (m Match) validate() error {
	switch m.PartKind {
	case "", PartText, PartFile, PartData:
	default:
		return fmt.Errorf("match.part_kind: %q is none of %q, %q, %q", m.PartKind, PartText, PartFile, PartData)
	}
	if m.MediaType != "" && !strings.Contains(m.MediaType, "/") {
		return fmt.Errorf("match.media_type: %q is not type/subtype", m.MediaType)
	}
	return nil
}

// matches reports whether req satisfies m.
func (m Match) matches(req *a2av1.SendMessageRequest) bool {
	if m.Skill != "" {
		if v, ok := metadataValue(req, SkillMetadataKey); !ok || v != m.Skill {
			return false
		}
	}
	for k, want := range m.Metadata {
		if v, ok := metadataValue(req, k); !ok || v != want {
			return false
		}
	}
	if m.PartKind == "" && m.MediaType == "" {
		return true
	}
	return slices.ContainsFunc(req.GetMessage().GetParts(), func(p *a2av1.Part) bool {
		return (m.PartKind == "" || partKind(p) == m.PartKind) && (m.MediaType == "" || mediaTypeCovers(m.MediaType, p.GetMediaType()))
	})
}

// metadataValue reads key from the message's metadata, else the request's.
func metadataValue(req *a2av1.SendMessageRequest, key string) (string, bool) {
	for _, md := range []*structpb.Struct{req.GetMessage().GetMetadata(), req.GetMetadata()} {
		v, ok := md.GetFields()[key]
		if !ok {
			continue
		}
		switch k := v.GetKind().(type) {
		case *structpb.Value_StringValue:
			return k.StringValue, true
		case *structpb.Value_BoolValue:
			return strconv.FormatBool(k.BoolValue), true
		case *structpb.Value_NumberValue:
			return strconv.FormatFloat(k.NumberValue, 'f', -1, 64), true
		}
		return "", false
	}
	return "", false
}

func partKind(p *a2av1.Part) string {
	switch p.GetContent().(type) {
	case *a2av1.Part_Text:
		return PartText
	case *a2av1.Part_Raw, *a2av1.Part_Url:
		return PartFile
	case *a2av1.Part_Data:
		return PartData
	}
	return ""
}

// mediaTypeCovers reports whether pattern ("type/subtype", "type/*" or
// "*/*") covers mt, ignoring case and parameters.
func mediaTypeCovers(pattern, mt string) bool {
	pt, ps := splitMediaType(pattern)
	mtt, mts := splitMediaType(mt)
	if mtt == "" {
		return false
	}
	return (pt == "*" || pt == mtt) && (ps == "*" || ps == mts)
}

func splitMediaType(m string) (typ, sub string) {
	if i := strings.IndexByte(m, ';'); i >= 0 {
		m = m[:i]
	}
	typ, sub, _ = strings.Cut(strings.ToLower(strings.TrimSpace(m)), "/")
	return typ, sub
}

// noRule is the error for a message no rule matches.
func noRule(req *a2av1.SendMessageRequest) error {
	var kinds []string
	for _, p := range req.GetMessage().GetParts() {
		k := partKind(p)
		if mt := p.GetMediaType(); mt != "" {
			k += " " + mt
		}
		kinds = append(kinds, k)
	}
	skill, _ := metadataValue(req, SkillMetadataKey)
	return a2agrpc.Errorf(a2agrpc.ReasonUnsupportedOperation,
		"router: no routing rule matches this message (skill %q, parts [%s]); add a rule for it, or a last rule with an empty match as the default",
		skill, strings.Join(kinds, ", "))
}
