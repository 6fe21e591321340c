package router_test

import (
	"context"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/a2agrpc/a2agrpc"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/router"
	"github.com/a2agrpc/a2agrpc/server"
)

// TestRulesRoute: Router.SendMessage and SendStreamingMessage take the
// first rule that matches, by skill metadata, part kind and media type,
// and a catch-all rule takes the rest.
func TestRulesRoute(t *testing.T) {
	t.Parallel()
	p := startAgents(t,
		agentSpec{name: "translator", skills: []*a2av1.AgentSkill{{Id: "translate", Name: "Translate"}}},
		agentSpec{name: "ocr", skills: []*a2av1.AgentSkill{{Id: "ocr", Name: "OCR", InputModes: []string{"image/*"}}}},
		agentSpec{name: "echo"},
	)
	rules, err := router.ParseRules([]byte(`
rules:
  - name: translate
    match: {skill: translate}
    capability: {skill_id: translate}
  - name: images
    match: {part_kind: file, media_type: "image/*"}
    capability: {input_mode: image/png}
  - name: gold-data
    match: {part_kind: data, metadata: {tier: gold}}
    capability: {name: translator}
  - name: default
    capability: {skill_id: echo}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := newRouter(t, router.Static(p.endpoints()...), router.WithRules(rules...))
	ctx := context.Background()

	data, err := server.DataPart(map[string]any{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		req   *a2av1.SendMessageRequest
		route string
		agent string
	}{
		{"skill", withMeta(message("hola"), "skill", "translate"), "translate", "translator"},
		{"skill_in_request_metadata", withRequestMeta(message("hola"), "skill", "translate"), "translate", "translator"},
		{"image_file", withPart(message("read this"), &a2av1.Part{Content: &a2av1.Part_Raw{Raw: []byte{0x89}}, MediaType: "image/png"}), "images", "ocr"},
		{"image_url", withPart(message("read this"), &a2av1.Part{Content: &a2av1.Part_Url{Url: "https://example.com/a.jpg"}, MediaType: "IMAGE/JPEG"}), "images", "ocr"},
		{"text_file_is_no_image", withPart(message("read this"), &a2av1.Part{Content: &a2av1.Part_Raw{Raw: []byte("notes")}, MediaType: "text/plain"}), "default", "echo"},
		{"data_gold", withMeta(withPart(message("x"), data), "tier", "gold"), "gold-data", "translator"},
		{"data_silver", withMeta(withPart(message("x"), data), "tier", "silver"), "default", "echo"},
		{"plain", message("hello"), "default", "echo"},
		{"other_skill", withMeta(message("hello"), "skill", "summarize"), "default", "echo"},
	}
	for _, c := range cases {
		rt, err := r.RouteFor(c.req)
		if err != nil {
			t.Fatalf("%s: RouteFor: %v", c.name, err)
		}
		if rt.Name() != c.route {
			t.Errorf("%s: route %s, want %s", c.name, rt.Name(), c.route)
		}
		if _, err := r.SendMessage(ctx, c.req); err != nil {
			t.Fatalf("%s: SendMessage: %v", c.name, err)
		}
		if got := p.rec.agentsOf(c.req.GetMessage().GetMessageId()); len(got) != 1 || got[0] != c.agent {
			t.Errorf("%s: executed by %v, want %s", c.name, got, c.agent)
		}
	}

	stream := withMeta(message("hola"), "skill", "translate")
	for _, err := range r.SendStreamingMessage(ctx, stream) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := p.rec.agentsOf(stream.GetMessage().GetMessageId()); len(got) != 1 || got[0] != "translator" {
		t.Errorf("streamed: executed by %v, want translator", got)
	}
	p.rec.once(t)
}

// TestNoRuleMatches: without a catch-all, an unmatched message is
// UNSUPPORTED_OPERATION, for both sends, and reaches no agent.
func TestNoRuleMatches(t *testing.T) {
	t.Parallel()
	p := startN(t, 1, nil)
	r := newRouter(t, router.Static(p.endpoints()...), router.WithRules(router.Rule{
		Match: router.Match{Skill: "translate"}, Capability: &registryv1.AgentFilter{SkillId: "translate"},
	}))
	ctx := context.Background()
	_, err := r.SendMessage(ctx, message("hello"))
	isA2A(t, err, a2agrpc.ErrUnsupportedOperation)
	for _, err := range r.SendStreamingMessage(ctx, message("hello")) {
		isA2A(t, err, a2agrpc.ErrUnsupportedOperation)
	}
	// A rule whose capability no agent offers: UNAVAILABLE, nothing sent.
	_, err = r.SendMessage(ctx, withMeta(message("hello"), "skill", "translate"))
	isA2A(t, err, a2agrpc.ErrUnavailable)
	if n := len(p.rec.perAgent()); n != 0 {
		t.Errorf("%d agents got messages", n)
	}
}

func withMeta(req *a2av1.SendMessageRequest, k, v string) *a2av1.SendMessageRequest {
	if req.Message.Metadata == nil {
		req.Message.Metadata = &structpb.Struct{Fields: map[string]*structpb.Value{}}
	}
	req.Message.Metadata.Fields[k] = structpb.NewStringValue(v)
	return req
}

func withRequestMeta(req *a2av1.SendMessageRequest, k, v string) *a2av1.SendMessageRequest {
	req.Metadata = &structpb.Struct{Fields: map[string]*structpb.Value{k: structpb.NewStringValue(v)}}
	return req
}

func withPart(req *a2av1.SendMessageRequest, p *a2av1.Part) *a2av1.SendMessageRequest {
	req.Message.Parts = append(req.Message.Parts, p)
	return req
}
