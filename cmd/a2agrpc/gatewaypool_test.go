package main

import (
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc/client"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// TestGatewayFrontsAPool: `gateway -registry -skill` serves the pool of
// agents registered with the skill as one agent: sends are spread over the
// pool, a task's later calls reach the agent that has it, and when one agent
// stops the gateway goes on with the other.
func TestGatewayFrontsAPool(t *testing.T) {
	lines, stopRegistry, _ := runInProcess(t, 1, io.Discard, "registry", "-grpc-addr", "127.0.0.1:0", "-http-addr", "-", "-store", "memory")
	t.Cleanup(stopRegistry)
	reg := regexp.MustCompile(`127\.0\.0\.1:\d+`).FindString(lines[0])
	if reg == "" {
		t.Fatalf("registry printed %q", lines)
	}
	var agents []string
	var stops []func() error
	for range 2 {
		lines, stop := serveInProcess(t, 2, "-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-store", "memory", "-registry", reg)
		url := regexp.MustCompile(`http://[0-9.:]+`).FindString(strings.Join(lines, "\n"))
		if url == "" {
			t.Fatalf("serve printed %q", lines)
		}
		agents, stops = append(agents, url), append(stops, stop)
	}
	glines, stopGateway, _ := runInProcess(t, 1, io.Discard, "gateway", "-registry", reg, "-skill", "echo", "-http-addr", "127.0.0.1:0")
	t.Cleanup(stopGateway)
	gw := regexp.MustCompile(`http://[0-9.:]+`).FindString(glines[0])
	if gw == "" {
		t.Fatalf("gateway printed %q", glines)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Round-robin over two agents: four sends, two each. Each task is then
	// read back through the gateway, which must ask the agent that has it.
	c, err := client.New(ctx, gw, client.WithTransports(client.TransportREST))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 4 {
		resp, err := c.SendMessage(ctx, &a2av1.SendMessageRequest{Message: &a2av1.Message{
			MessageId: "m" + string(rune('0'+i)), Role: a2av1.Role_ROLE_USER, Parts: []*a2av1.Part{{Content: &a2av1.Part_Text{Text: "hi"}}}}})
		if err != nil {
			t.Fatalf("send %d through the gateway: %v", i, err)
		}
		if _, err := c.GetTask(ctx, &a2av1.GetTaskRequest{Id: resp.GetTask().GetId()}); err != nil {
			t.Fatalf("get task %d through the gateway: %v", i, err)
		}
	}
	for _, url := range agents {
		ac, err := client.New(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		list, err := ac.ListTasks(ctx, &a2av1.ListTasksRequest{})
		ac.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n := len(list.GetTasks()); n != 2 {
			t.Errorf("agent %s got %d of the 4 tasks, want 2", url, n)
		}
	}

	// One agent stops (and deregisters): every later send is served.
	if err := stops[0](); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if _, err := c.SendMessage(ctx, &a2av1.SendMessageRequest{Message: &a2av1.Message{
			MessageId: "after" + string(rune('0'+i)), Role: a2av1.Role_ROLE_USER, Parts: []*a2av1.Part{{Content: &a2av1.Part_Text{Text: "still there?"}}}}}); err != nil {
			t.Fatalf("send %d after an agent stopped: %v", i, err)
		}
	}
}

func TestGatewayPoolFlags(t *testing.T) {
	for _, args := range [][]string{
		{"gateway"},
		{"gateway", "-target", "127.0.0.1:1", "-registry", "127.0.0.1:2", "-skill", "x"},
		{"gateway", "-registry", "127.0.0.1:2"},
		{"gateway", "-target", "127.0.0.1:1", "-skill", "x"},
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		} else if code := exitCode(err); code != exitUsage {
			t.Errorf("run(%q): exit %d (%v), want %d", args, code, err, exitUsage)
		}
	}
}
