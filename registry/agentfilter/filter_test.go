package agentfilter_test

import (
	"testing"

	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/registry/agentfilter"
)

func testCard() *a2av1.AgentCard {
	return &a2av1.AgentCard{
		Name: "docs",
		SupportedInterfaces: []*a2av1.AgentInterface{
			{Url: "127.0.0.1:1", ProtocolBinding: "GRPC", ProtocolVersion: "1.0"},
			{Url: "http://127.0.0.1:2", ProtocolBinding: "HTTP+JSON", ProtocolVersion: "1.0"},
		},
		DefaultInputModes:  []string{"text/plain"},
		DefaultOutputModes: []string{"text/plain"},
		Skills: []*a2av1.AgentSkill{
			{Id: "extract", Tags: []string{"pdf", "Text"}, InputModes: []string{"application/pdf", "image/*"}},
			{Id: "summarize", Tags: []string{"nlp"}, OutputModes: []string{"application/json"}},
		},
	}
}

func TestMatchesCard(t *testing.T) {
	card := testCard()
	tests := []struct {
		name string
		f    *registryv1.AgentFilter
		want bool
	}{
		{"empty filter", &registryv1.AgentFilter{}, true},
		{"name", &registryv1.AgentFilter{Name: "docs"}, true},
		{"other name", &registryv1.AgentFilter{Name: "Docs"}, false},
		{"binding any case", &registryv1.AgentFilter{ProtocolBinding: "grpc"}, true},
		{"binding not served", &registryv1.AgentFilter{ProtocolBinding: "JSONRPC"}, false},
		{"skill", &registryv1.AgentFilter{SkillId: "extract"}, true},
		{"unknown skill", &registryv1.AgentFilter{SkillId: "translate"}, false},
		{"tag any case", &registryv1.AgentFilter{Tag: "text"}, true},
		{"skill and its tag", &registryv1.AgentFilter{SkillId: "summarize", Tag: "nlp"}, true},
		{"skill and another skill's tag", &registryv1.AgentFilter{SkillId: "summarize", Tag: "pdf"}, false},
		{"skill's own input mode", &registryv1.AgentFilter{SkillId: "extract", InputMode: "application/pdf"}, true},
		{"skill wildcard input mode", &registryv1.AgentFilter{SkillId: "extract", InputMode: "image/PNG"}, true},
		{"skill lacks the input mode", &registryv1.AgentFilter{SkillId: "extract", InputMode: "text/plain"}, false},
		{"skill falls back to card input modes", &registryv1.AgentFilter{SkillId: "summarize", InputMode: "text/plain; charset=utf-8"}, true},
		{"skill's own output mode", &registryv1.AgentFilter{SkillId: "summarize", OutputMode: "application/json"}, true},
		{"mode of any skill", &registryv1.AgentFilter{InputMode: "application/pdf"}, true},
		{"mode of no skill", &registryv1.AgentFilter{OutputMode: "audio/wav"}, false},
		{"modes from one skill only", &registryv1.AgentFilter{InputMode: "application/pdf", OutputMode: "application/json"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := agentfilter.MatchesCard(tt.f, card); got != tt.want {
				t.Fatalf("MatchesCard(%v) = %v, want %v", tt.f, got, tt.want)
			}
		})
	}
	if agentfilter.MatchesCard(&registryv1.AgentFilter{}, nil) {
		t.Fatal("a nil card matched")
	}
}

func TestMatchesHealth(t *testing.T) {
	reg := &registryv1.AgentRegistration{AgentId: "a", Card: testCard(), Status: registryv1.AgentStatus_AGENT_STATUS_UNHEALTHY}
	if agentfilter.Matches(&registryv1.AgentFilter{}, reg) {
		t.Fatal("an unhealthy agent matched a filter that leaves them out")
	}
	if !agentfilter.Matches(&registryv1.AgentFilter{IncludeUnhealthy: true}, reg) {
		t.Fatal("an unhealthy agent did not match a filter that includes them")
	}
	reg.Status = registryv1.AgentStatus_AGENT_STATUS_HEALTHY
	if !agentfilter.Matches(&registryv1.AgentFilter{SkillId: "extract"}, reg) {
		t.Fatal("a healthy agent with the skill did not match")
	}
}
