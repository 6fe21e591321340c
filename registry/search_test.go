package registry_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/registry"
)

// fleet registers agents of several kinds.
func fleet(t *testing.T, c *registry.Client) {
	t.Helper()
	pdf := testCard("pdf", "127.0.0.1:7201", skill("extract", "pdf", "ocr"))
	pdf.Skills[0].InputModes = []string{"application/pdf"}
	summarizer := testCard("summarizer", "127.0.0.1:7202", skill("summarize", "nlp"))
	summarizer.Skills[0].OutputModes = []string{"application/json"}
	rest := testCard("rest-only", "http://127.0.0.1:7203", skill("summarize", "nlp"))
	rest.SupportedInterfaces[0].ProtocolBinding = a2agrpc.BindingREST
	images := testCard("images", "127.0.0.1:7204", skill("extract", "ocr"))
	images.DefaultInputModes = []string{"image/*"}
	for _, card := range []*a2av1.AgentCard{pdf, summarizer, rest, images} {
		mustRegister(t, c, byCard(card.GetName(), card, 0))
	}
	for i := range 5 {
		mustRegister(t, c, byCard(fmt.Sprintf("page-%c", 'a'+i), testCard("pager", fmt.Sprintf("127.0.0.1:73%d0", i), skill("page")), 0))
	}
}

func TestSearchByCapability(t *testing.T) {
	_, c := startRegistry(t, registry.Config{})
	fleet(t, c)
	for _, tt := range []struct {
		name string
		f    *registryv1.AgentFilter
		want []string
	}{
		{"skill", &registryv1.AgentFilter{SkillId: "extract"}, []string{"images", "pdf"}},
		{"tag", &registryv1.AgentFilter{Tag: "NLP"}, []string{"rest-only", "summarizer"}},
		{"skill and tag", &registryv1.AgentFilter{SkillId: "extract", Tag: "pdf"}, []string{"pdf"}},
		{"input mode of a skill", &registryv1.AgentFilter{InputMode: "application/pdf"}, []string{"pdf"}},
		{"input mode by wildcard", &registryv1.AgentFilter{InputMode: "image/png"}, []string{"images"}},
		{"output mode", &registryv1.AgentFilter{SkillId: "summarize", OutputMode: "application/json"}, []string{"summarizer"}},
		{"binding", &registryv1.AgentFilter{ProtocolBinding: "http+json"}, []string{"rest-only"}},
		{"binding and skill", &registryv1.AgentFilter{ProtocolBinding: a2agrpc.BindingGRPC, SkillId: "summarize"}, []string{"summarizer"}},
		{"name", &registryv1.AgentFilter{Name: "pager"}, []string{"page-a", "page-b", "page-c", "page-d", "page-e"}},
		{"nothing", &registryv1.AgentFilter{SkillId: "translate"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := search(t, c, tt.f, 0); !slices.Equal(got, tt.want) {
				t.Fatalf("search = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSearchPaging(t *testing.T) {
	srv, c := startRegistry(t, registry.Config{})
	fleet(t, c)
	all := search(t, c, nil, 0)
	if len(all) != 9 || !slices.IsSorted(all) {
		t.Fatalf("all = %v", all)
	}
	if got := search(t, c, nil, 2); !slices.Equal(got, all) {
		t.Fatalf("pages of 2 = %v, want %v", got, all)
	}
	// Page by hand: full pages carry a token, the last none.
	ctx := context.Background()
	svc := srv.Service()
	pagers := &registryv1.AgentFilter{Name: "pager"}
	page, err := svc.SearchAgents(ctx, &registryv1.SearchAgentsRequest{Filter: pagers, PageSize: 3})
	if err != nil || len(page.GetAgents()) != 3 || page.GetNextPageToken() == "" {
		t.Fatalf("first page = %v, %v", page, err)
	}
	page, err = svc.SearchAgents(ctx, &registryv1.SearchAgentsRequest{Filter: pagers, PageSize: 3, PageToken: page.GetNextPageToken()})
	if err != nil || !slices.Equal(ids(page.GetAgents()), []string{"page-d", "page-e"}) || page.GetNextPageToken() != "" {
		t.Fatalf("last page = %v, %v", page, err)
	}
	for _, bad := range []string{"!!", "YWJj", "YTo"} {
		_, err = svc.SearchAgents(ctx, &registryv1.SearchAgentsRequest{PageToken: bad})
		wantField(t, err, "pageToken")
	}
	_, err = svc.SearchAgents(ctx, &registryv1.SearchAgentsRequest{PageSize: -1})
	wantField(t, err, "pageSize")
	// Oversized pages are clamped, not refused.
	if page, err := svc.SearchAgents(ctx, &registryv1.SearchAgentsRequest{PageSize: 10_000}); err != nil || len(page.GetAgents()) != 9 {
		t.Fatalf("page_size 10000 = %v, %v", page, err)
	}
}

func TestWatch(t *testing.T) {
	_, c := startRegistry(t, registry.Config{})
	ctx := context.Background()
	extract := func(name string) *a2av1.AgentCard {
		return testCard(name, "127.0.0.1:74"+name[len(name)-1:]+"0", skill("extract"))
	}
	mustRegister(t, c, byCard("w1", extract("w1"), 0))
	mustRegister(t, c, byCard("other", testCard("other", "127.0.0.1:7490", skill("summarize")), 0))
	w := watch(t, c, &registryv1.AgentFilter{SkillId: "extract"})
	if ev := w.next(t); ev.GetType() != registryv1.WatchEventType_WATCH_EVENT_TYPE_ADDED || ev.GetAgent().GetAgentId() != "w1" {
		t.Fatalf("first event = %v", ev)
	}
	if ev := w.next(t); ev.GetType() != registryv1.WatchEventType_WATCH_EVENT_TYPE_SYNCED || ev.GetAgent() != nil {
		t.Fatalf("second event = %v", ev)
	}
	mustRegister(t, c, byCard("w2", extract("w2"), 2*time.Second)) // expires after the steps below
	if ev := w.next(t); ev.GetType() != registryv1.WatchEventType_WATCH_EVENT_TYPE_ADDED || ev.GetAgent().GetAgentId() != "w2" {
		t.Fatalf("after registering w2: %v", ev)
	}
	if _, err := c.Heartbeat(ctx, "w1"); err != nil {
		t.Fatal(err)
	}
	if ev := w.next(t); ev.GetType() != registryv1.WatchEventType_WATCH_EVENT_TYPE_UPDATED || ev.GetAgent().GetAgentId() != "w1" {
		t.Fatalf("after a heartbeat: %v", ev)
	}
	// A change to another skill is unmatched for this watch.
	changed := extract("w1")
	changed.Skills = []*a2av1.AgentSkill{skill("translate")}
	mustRegister(t, c, byCard("w1", changed, 0))
	if ev := w.next(t); ev.GetType() != registryv1.WatchEventType_WATCH_EVENT_TYPE_REMOVED || ev.GetReason() != registry.ReasonUnmatched ||
		ev.GetAgent().GetCard().GetSkills()[0].GetId() != "extract" {
		t.Fatalf("after w1 dropped the skill: %v", ev)
	}
	// Changes to agents that never matched are not sent.
	if _, err := c.Heartbeat(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	mustRegister(t, c, byCard("w3", extract("w3"), 0))
	if ev := w.next(t); ev.GetType() != registryv1.WatchEventType_WATCH_EVENT_TYPE_ADDED || ev.GetAgent().GetAgentId() != "w3" {
		t.Fatalf("after registering w3: %v", ev)
	}
	if err := c.Deregister(ctx, "w3"); err != nil {
		t.Fatal(err)
	}
	if ev := w.next(t); ev.GetType() != registryv1.WatchEventType_WATCH_EVENT_TYPE_REMOVED || ev.GetReason() != "deregistered" || ev.GetAgent().GetAgentId() != "w3" {
		t.Fatalf("after deregistering w3: %v", ev)
	}
	if ev := w.next(t); ev.GetType() != registryv1.WatchEventType_WATCH_EVENT_TYPE_REMOVED || ev.GetReason() != "expired" || ev.GetAgent().GetAgentId() != "w2" {
		t.Fatalf("after w2's lease: %v", ev)
	}
}

// A watcher that does not read is ended with UNAVAILABLE once its buffer
// is full, while another watcher keeps getting every change.
func TestSlowWatcherIsEnded(t *testing.T) {
	srv, c := startRegistry(t, registry.Config{Options: fast(registry.WithWatchBuffer(4))})
	slow := &blockedStream{ctx: context.Background(), release: make(chan struct{})}
	slowDone := make(chan error, 1)
	go func() { slowDone <- srv.Service().WatchAgents(&registryv1.WatchAgentsRequest{}, slow) }()
	eventually(t, "the slow watcher to block", func() bool { return slow.sent.Load() > 0 })
	quick := watch(t, c, nil)
	quick.next(t) // SYNCED
	for i := range 20 {
		id := fmt.Sprintf("agent-%02d", i)
		mustRegister(t, c, byCard(id, testCard(id, "127.0.0.1:7500", skill("x")), 0))
		quick.expect(t, registryv1.WatchEventType_WATCH_EVENT_TYPE_ADDED, id)
	}
	close(slow.release)
	select {
	case err := <-slowDone:
		wantReason(t, err, a2agrpc.ReasonUnavailable)
	case <-time.After(wait):
		t.Fatal("the slow watcher was not ended")
	}
	if n := slow.sent.Load(); n != 1 {
		t.Fatalf("the slow watcher was sent %d events after falling behind, want only the one it blocked on", n)
	}
}

// blockedStream is a watch stream whose client does not read: its first
// Send blocks until release.
type blockedStream struct {
	grpc.ServerStream // nil: only Context and Send are called
	ctx               context.Context
	release           chan struct{}
	sent              atomic.Int32
}

func (s *blockedStream) Context() context.Context { return s.ctx }

func (s *blockedStream) Send(*registryv1.WatchAgentsResponse) error {
	s.sent.Add(1)
	<-s.release
	return nil
}

func TestShutdownEndsWatches(t *testing.T) {
	srv, c := startRegistry(t, registry.Config{})
	w := watch(t, c, nil)
	w.next(t) // SYNCED
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-w.errc:
		wantReason(t, err, a2agrpc.ReasonUnavailable)
	case <-time.After(wait):
		t.Fatal("the watch outlived Shutdown")
	}
}

// Clones: what a search returns is the caller's to change.
func TestSearchResultsAreCopies(t *testing.T) {
	srv, c := startRegistry(t, registry.Config{})
	mustRegister(t, c, byCard("copy", testCard("copy", "127.0.0.1:7600"), 0))
	resp, err := srv.Service().SearchAgents(context.Background(), &registryv1.SearchAgentsRequest{})
	if err != nil || len(resp.GetAgents()) != 1 {
		t.Fatal(resp, err)
	}
	resp.GetAgents()[0].GetCard().Name = "changed"
	again, _ := srv.Service().SearchAgents(context.Background(), &registryv1.SearchAgentsRequest{})
	if again.GetAgents()[0].GetCard().GetName() != "copy" || proto.Equal(again.GetAgents()[0], resp.GetAgents()[0]) {
		t.Fatal("changing a search result changed the registry's view")
	}
}
