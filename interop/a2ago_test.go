package interop

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2aclient"
	"github.com/a2aproject/a2a-go/v2/a2aclient/agentcard"
	a2agrpcv1 "github.com/a2aproject/a2a-go/v2/a2agrpc/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// startServer builds and runs `a2agrpc serve` on free ports and returns
// the base URL of its HTTP side (which serves the Agent Card).
func startServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "a2agrpc")
	build := exec.Command("go", "build", "-o", bin, "./cmd/a2agrpc")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building a2agrpc: %v\n%s", err, out)
	}
	store := "sqlite:" + filepath.Join(t.TempDir(), "tasks.db") // the default store kind, in a place of its own
	cmd := exec.Command(bin, "serve", "-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-store", store)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("a2agrpc serve did not stop on SIGINT")
		}
	})
	lines := bufio.NewScanner(stdout)
	httpURL := regexp.MustCompile(`http://127\.0\.0\.1:\d+`)
	for lines.Scan() {
		if u := httpURL.FindString(lines.Text()); u != "" {
			go func() {
				for lines.Scan() {
				}
			}()
			return u
		}
	}
	t.Fatal("a2agrpc serve printed no HTTP address")
	return ""
}

// TestA2AGo drives our server with the a2a-go v2.4.0 client over each of
// the three bindings, choosing the interface from our Agent Card.
func TestA2AGo(t *testing.T) {
	base := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	card, err := agentcard.DefaultResolver.Resolve(ctx, base)
	if err != nil {
		t.Fatalf("resolve card: %v", err)
	}
	if len(card.SupportedInterfaces) != 3 {
		t.Fatalf("card interfaces = %+v", card.SupportedInterfaces)
	}
	for _, binding := range []a2a.TransportProtocol{a2a.TransportProtocolGRPC, a2a.TransportProtocolHTTPJSON, a2a.TransportProtocolJSONRPC} {
		t.Run(string(binding), func(t *testing.T) {
			client, err := a2aclient.NewFromCard(ctx, card,
				a2agrpcv1.WithGRPCTransport(grpc.WithTransportCredentials(insecure.NewCredentials())),
				a2aclient.WithConfig(a2aclient.Config{PreferredTransports: []a2a.TransportProtocol{binding}}))
			if err != nil {
				t.Fatal(err)
			}
			defer client.Destroy()

			res, err := client.SendMessage(ctx, &a2a.SendMessageRequest{Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.NewTextPart("hello from a2a-go"))})
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			task, ok := res.(*a2a.Task)
			if !ok || task.Status.State != a2a.TaskStateCompleted || len(task.Artifacts) != 1 {
				t.Fatalf("send returned %#v", res)
			}

			var events []a2a.Event
			for ev, err := range client.SendStreamingMessage(ctx, &a2a.SendMessageRequest{Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.NewTextPart("stream me"))}) {
				if err != nil {
					t.Fatalf("stream: %v", err)
				}
				events = append(events, ev)
			}
			if len(events) != 5 {
				t.Fatalf("stream: %d events, want 5: %#v", len(events), events)
			}
			if _, ok := events[0].(*a2a.Task); !ok {
				t.Errorf("first event %T, want a task", events[0])
			}
			if st, ok := events[4].(*a2a.TaskStatusUpdateEvent); !ok || st.Status.State != a2a.TaskStateCompleted {
				t.Errorf("last event %#v, want COMPLETED", events[4])
			}

			zero := 0
			got, err := client.GetTask(ctx, &a2a.GetTaskRequest{ID: task.ID, HistoryLength: &zero})
			if err != nil || got.ID != task.ID || len(got.History) != 0 {
				t.Errorf("get: %#v, %v", got, err)
			}
			list, err := client.ListTasks(ctx, &a2a.ListTasksRequest{PageSize: 1})
			if err != nil || len(list.Tasks) != 1 || list.TotalSize < 2 || list.NextPageToken == "" {
				t.Errorf("list: %#v, %v", list, err)
			}
			if _, err := client.GetTask(ctx, &a2a.GetTaskRequest{ID: "no-such-task"}); !errors.Is(err, a2a.ErrTaskNotFound) {
				t.Errorf("get unknown: %v, want ErrTaskNotFound", err)
			}
			if _, err := client.CancelTask(ctx, &a2a.CancelTaskRequest{ID: task.ID}); !errors.Is(err, a2a.ErrTaskNotCancelable) {
				t.Errorf("cancel completed: %v, want ErrTaskNotCancelable", err)
			}

			// Push configs on the completed task.
			cfg, err := client.CreateTaskPushConfig(ctx, &a2a.PushConfig{TaskID: task.ID, URL: "https://hooks.example.com/a2a"})
			if err != nil || cfg.ID == "" {
				t.Fatalf("create push config: %#v, %v", cfg, err)
			}
			if got, err := client.GetTaskPushConfig(ctx, &a2a.GetTaskPushConfigRequest{TaskID: task.ID, ID: cfg.ID}); err != nil || got.URL != cfg.URL {
				t.Errorf("get push config: %#v, %v", got, err)
			}
			if all, err := client.ListTaskPushConfigs(ctx, &a2a.ListTaskPushConfigRequest{TaskID: task.ID}); err != nil || len(all) != 1 {
				t.Errorf("list push configs: %#v, %v", all, err)
			}
			if err := client.DeleteTaskPushConfig(ctx, &a2a.DeleteTaskPushConfigRequest{TaskID: task.ID, ID: cfg.ID}); err != nil {
				t.Errorf("delete push config: %v", err)
			}

			// Subscribe to a held task, then cancel it: the subscription sees
			// the task first and ends with CANCELED.
			held, err := client.SendMessage(ctx, &a2a.SendMessageRequest{
				Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.NewTextPart("/hold")),
				Config:  &a2a.SendMessageConfig{ReturnImmediately: true},
			})
			if err != nil {
				t.Fatalf("send /hold: %v", err)
			}
			heldTask := held.(*a2a.Task)
			subscribed := make(chan struct{})
			done := make(chan []a2a.Event, 1)
			go func() {
				var evs []a2a.Event
				for ev, err := range client.SubscribeToTask(ctx, &a2a.SubscribeToTaskRequest{ID: heldTask.ID}) {
					if err != nil {
						t.Errorf("subscribe: %v", err)
						break
					}
					if len(evs) == 0 {
						close(subscribed)
					}
					evs = append(evs, ev)
				}
				done <- evs
			}()
			<-subscribed
			if c, err := client.CancelTask(ctx, &a2a.CancelTaskRequest{ID: heldTask.ID}); err != nil || c.Status.State != a2a.TaskStateCanceled {
				t.Fatalf("cancel: %#v, %v", c, err)
			}
			evs := <-done
			if _, ok := evs[0].(*a2a.Task); !ok {
				t.Errorf("first subscribe event %T", evs[0])
			}
			if st, ok := evs[len(evs)-1].(*a2a.TaskStatusUpdateEvent); !ok || st.Status.State != a2a.TaskStateCanceled {
				t.Errorf("last subscribe event %#v", evs[len(evs)-1])
			}
		})
	}
}
