// Package loadgen drives an A2A endpoint (or the bare gRPC baseline) with
// closed-loop workers and measures throughput, latency and, when the server's
// process id is known, the server's CPU time per call. It backs the
// `a2agrpc bench` command.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Mode selects what one call is.
type Mode string

// Modes.
const (
	Unary  Mode = "unary"  // one send, answered by a completed task
	Stream Mode = "stream" // one streaming send of the 5-event echo task
)

// Target is one kind of endpoint. Call performs one call and, in stream
// mode, reports each event through onEvent. Implementations verify every
// reply and return an error for anything unexpected.
type Target interface {
	Call(ctx context.Context, worker int, mode Mode, onEvent func()) error
	Close() error
}

// Config is one measurement.
type Config struct {
	Mode        Mode
	Concurrency int           // closed-loop workers
	Duration    time.Duration // measured window
	Warmup      time.Duration // run before the window, not recorded
	ServerPID   int           // if > 0, the server's CPU time is read from /proc
}

// Result is what one measurement observed in its window.
type Result struct {
	Mode        Mode
	Concurrency int
	Calls       int64
	Errors      int64
	FirstError  string
	Events      int64
	Elapsed     time.Duration
	Latency     Percentiles // whole call
	TTFE        Percentiles // time to first event (stream mode)
	ServerCPU   time.Duration
	LoadCPU     time.Duration // this process's CPU time in the window
}

// Percentiles of a latency distribution.
type Percentiles struct{ P50, P90, P99 time.Duration }

// Rate is calls per second.
func (r Result) Rate() float64 { return float64(r.Calls) / r.Elapsed.Seconds() }

// EventRate is events per second (stream mode).
func (r Result) EventRate() float64 { return float64(r.Events) / r.Elapsed.Seconds() }

// ServerCPUPerCall is the server's CPU time per completed call, 0 if unknown.
func (r Result) ServerCPUPerCall() time.Duration {
	if r.Calls == 0 || r.ServerCPU == 0 {
		return 0
	}
	return r.ServerCPU / time.Duration(r.Calls)
}

type sample struct{ total, first time.Duration }

// Run measures target with cfg. Errors are counted, not fatal; Run fails
// only if the configuration is invalid or no call succeeds.
func Run(ctx context.Context, target Target, cfg Config) (Result, error) {
	if cfg.Concurrency < 1 || cfg.Duration <= 0 {
		return Result{}, errors.New("loadgen: need concurrency >= 1 and a positive duration")
	}
	var (
		recording atomic.Bool
		stop      atomic.Bool
		calls     atomic.Int64
		errs      atomic.Int64
		events    atomic.Int64
		firstErr  atomic.Value
		wg        sync.WaitGroup
	)
	samples := make([][]sample, cfg.Concurrency)
	for w := range cfg.Concurrency {
		wg.Go(func() {
			local := make([]sample, 0, 1<<14)
			for !stop.Load() && ctx.Err() == nil {
				start := time.Now()
				var first time.Duration
				n := int64(0)
				err := target.Call(ctx, w, cfg.Mode, func() {
					if n == 0 {
						first = time.Since(start)
					}
					n++
				})
				total := time.Since(start)
				if !recording.Load() {
					continue
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				calls.Add(1)
				events.Add(n)
				local = append(local, sample{total, first})
			}
			samples[w] = local
		})
	}
	sleep(ctx, cfg.Warmup)
	cpu0, _ := processCPU(cfg.ServerPID)
	self0, _ := processCPU(os.Getpid())
	recording.Store(true)
	t0 := time.Now()
	sleep(ctx, cfg.Duration)
	recording.Store(false)
	elapsed := time.Since(t0)
	cpu1, cpuErr := processCPU(cfg.ServerPID)
	self1, _ := processCPU(os.Getpid())
	stop.Store(true)
	wg.Wait()

	res := Result{Mode: cfg.Mode, Concurrency: cfg.Concurrency, Calls: calls.Load(), Errors: errs.Load(), Events: events.Load(), Elapsed: elapsed}
	if s, ok := firstErr.Load().(string); ok {
		res.FirstError = s
	}
	if cfg.ServerPID > 0 && cpuErr == nil {
		res.ServerCPU = cpu1 - cpu0
	}
	res.LoadCPU = self1 - self0
	all := slices.Concat(samples...)
	res.Latency = percentiles(all, func(s sample) time.Duration { return s.total })
	if cfg.Mode == Stream {
		res.TTFE = percentiles(all, func(s sample) time.Duration { return s.first })
	}
	if res.Calls == 0 {
		return res, fmt.Errorf("loadgen: no call succeeded (%d errors; first: %s)", res.Errors, res.FirstError)
	}
	return res, ctx.Err()
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func percentiles(s []sample, key func(sample) time.Duration) Percentiles {
	if len(s) == 0 {
		return Percentiles{}
	}
	d := make([]time.Duration, len(s))
	for i, x := range s {
		d[i] = key(x)
	}
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	return Percentiles{at(0.50), at(0.90), at(0.99)}
}

// Format renders a result as one human-readable block.
func Format(name string, r Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s c=%d: ", name, r.Mode, r.Concurrency)
	if r.Mode == Stream {
		fmt.Fprintf(&b, "%.0f streams/s, %.0f events/s, latency p50 %v p90 %v p99 %v, first event p50 %v p99 %v",
			r.Rate(), r.EventRate(), r.Latency.P50, r.Latency.P90, r.Latency.P99, r.TTFE.P50, r.TTFE.P99)
	} else {
		fmt.Fprintf(&b, "%.0f req/s, latency p50 %v p90 %v p99 %v", r.Rate(), r.Latency.P50, r.Latency.P90, r.Latency.P99)
	}
	if c := r.ServerCPUPerCall(); c > 0 {
		fmt.Fprintf(&b, ", server CPU %.1f µs/call", float64(c.Nanoseconds())/1e3)
	}
	if r.LoadCPU > 0 {
		fmt.Fprintf(&b, ", load generator %.0f%% of a core", 100*r.LoadCPU.Seconds()/r.Elapsed.Seconds())
	}
	fmt.Fprintf(&b, ", %d calls, %d errors", r.Calls, r.Errors)
	if r.FirstError != "" {
		fmt.Fprintf(&b, " (first: %s)", r.FirstError)
	}
	return b.String()
}
