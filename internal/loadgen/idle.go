package loadgen

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/metadata"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// IdleResult is what holding n idle subscriptions cost the server.
type IdleResult struct {
	Streams        int
	RSSBefore      int64 // bytes
	RSSAfter       int64
	BytesPerStream float64
}

// IdleStreams opens n SubscribeToTask streams to one task the echo agent
// holds open ("/hold"), waits until every stream has its first event, lets
// the server settle, and reports the growth of the server's resident memory
// per stream (serverPID is required). The task is cancelled at the end,
// which ends every stream.
func IdleStreams(ctx context.Context, addr string, n, perConn, serverPID int, hold string) (IdleResult, error) {
	if serverPID <= 0 {
		return IdleResult{}, fmt.Errorf("loadgen: idle mode needs -server-pid")
	}
	conns := (n + perConn - 1) / perConn
	g, err := NewGRPC(addr, conns)
	if err != nil {
		return IdleResult{}, err
	}
	defer g.Close()
	ctx = metadata.NewOutgoingContext(ctx, versionMD)
	req := newMessage()
	req.Message.Parts[0] = &a2av1.Part{Content: &a2av1.Part_Text{Text: hold}}
	req.Configuration = &a2av1.SendMessageConfiguration{ReturnImmediately: true}
	resp, err := g.clients[0].SendMessage(ctx, req)
	if err != nil {
		return IdleResult{}, err
	}
	taskID := resp.GetTask().GetId()
	// Warm every connection before the baseline reading.
	for _, c := range g.clients {
		if _, err := c.GetTask(ctx, &a2av1.GetTaskRequest{Id: taskID}); err != nil {
			return IdleResult{}, err
		}
	}
	time.Sleep(500 * time.Millisecond)
	before, err := rss(serverPID)
	if err != nil {
		return IdleResult{}, err
	}
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			s, err := g.clients[i%len(g.clients)].SubscribeToTask(subCtx, &a2av1.SubscribeToTaskRequest{Id: taskID})
			if err == nil {
				_, err = s.Recv()
			}
			if err != nil {
				errs <- err
				return
			}
			go func() { // keep reading until the stream ends
				for {
					if _, err := s.Recv(); err != nil {
						return
					}
				}
			}()
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		return IdleResult{}, fmt.Errorf("loadgen: opening subscriptions: %w", err)
	default:
	}
	time.Sleep(2 * time.Second)
	after, err := rss(serverPID)
	if err != nil {
		return IdleResult{}, err
	}
	if _, err := g.clients[0].CancelTask(ctx, &a2av1.CancelTaskRequest{Id: taskID}); err != nil {
		return IdleResult{}, err
	}
	return IdleResult{Streams: n, RSSBefore: before, RSSAfter: after, BytesPerStream: float64(after-before) / float64(n)}, nil
}

// rss reads a process's resident set size from /proc (Linux).
func rss(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}
