package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// writer is the one connection every write goes through, with its
// statements prepared once.
//
// Writes are group-committed. Each write is a function run inside a
// transaction; callers queue them, and whoever finds no write in progress
// becomes the leader: it runs everything queued (up to maxBatch) as one
// transaction (see runBatch for how one write's failure is kept from the
// others), then commits once and wakes the others. A commit costs a
// handful of system calls and log pages whatever it holds, so under
// concurrent load that cost is shared by the batch, while a lone write
// runs at once, in its caller's goroutine.
// When the leader is done and writes are queued, it hands leadership to the
// oldest of them, so no caller runs other callers' writes for long.
type writer struct {
	conn *sql.Conn

	mu      sync.Mutex
	idle    sync.Cond // signalled when leading becomes false
	queue   []*writeOp
	leading bool

	// commits counts transactions, to nudge the checkpointer (see
	// checkpoint.go) every checkpointEvery of them. Only the leader uses it.
	commits int
	nudge   chan struct{}

	begin, commit, rollback *sql.Stmt

	createTask, dropExpired, updateTask, taskLive *sql.Stmt
	insertEvent, eventCount                       *sql.Stmt
	trimCut, trimDelete, trimMark                 *sql.Stmt
	enqueue, claimDue, claimLease                 *sql.Stmt
	completeDelivery, retryDelivery               *sql.Stmt
	putPush, deletePush                           *sql.Stmt
	keepAlive, releaseRunner                      *sql.Stmt
	sweepTasks, sweepRunners                      *sql.Stmt
}

// maxBatch bounds a group commit, and so how long its writes wait for it.
const maxBatch = 64

// writeOp is one queued write.
type writeOp struct {
	ctx context.Context // without cancellation, see detached
	fn  func(ctx context.Context, w *writer) error
	err error
	// wake is how a waiting caller learns that its write is done (false)
	// or that it leads now (true), its write not run yet.
	wake chan bool
}

func (w *writer) prepare(ctx context.Context) error {
	return prepareAll(ctx, w.conn.PrepareContext, []stmtSQL{
		// IMMEDIATE takes the write lock at BEGIN: no other writer exists
		// (the file lock sees to that), so this never waits, and it rules
		// out a deferred transaction failing halfway on a lock upgrade.
		{&w.begin, "BEGIN IMMEDIATE"},
		{&w.commit, "COMMIT"},
		{&w.rollback, "ROLLBACK"},
		{&w.createTask, sqlCreateTask},
		{&w.dropExpired, sqlDropExpired},
		{&w.updateTask, sqlUpdateTask},
		{&w.taskLive, sqlTaskLive},
		{&w.insertEvent, sqlInsertEvent},
		{&w.eventCount, sqlEventCount},
		{&w.trimCut, sqlTrimCut},
		{&w.trimDelete, sqlTrimDelete},
		{&w.trimMark, sqlTrimMark},
		{&w.enqueue, sqlEnqueue},
		{&w.claimDue, sqlClaimDue},
		{&w.claimLease, sqlClaimLease},
		{&w.completeDelivery, sqlCompleteDelivery},
		{&w.retryDelivery, sqlRetryDelivery},
		{&w.putPush, sqlPutPush},
		{&w.deletePush, sqlDeletePush},
		{&w.keepAlive, sqlKeepAlive},
		{&w.releaseRunner, sqlReleaseRunner},
		{&w.sweepTasks, sqlSweepTasks},
		{&w.sweepRunners, sqlSweepRunners},
	})
}

func (w *writer) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{
		w.begin, w.commit, w.rollback,
		w.createTask, w.dropExpired, w.updateTask, w.taskLive,
		w.insertEvent, w.eventCount, w.trimCut, w.trimDelete, w.trimMark,
		w.enqueue, w.claimDue, w.claimLease, w.completeDelivery, w.retryDelivery,
		w.putPush, w.deletePush, w.keepAlive, w.releaseRunner, w.sweepTasks, w.sweepRunners,
	} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if w.conn != nil {
		errs = append(errs, w.conn.Close())
	}
	return errors.Join(errs...)
}

// write runs fn inside a transaction on the write connection and returns
// once that transaction is committed (or fn's changes are undone). fn's
// statements get ctx without its cancellation (see detached): a queued
// write is short, and finishing it is cheaper than interrupting it.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, w *writer) error) error {
	ctx, err := detached(ctx)
	if err != nil {
		return err
	}
	op := &writeOp{ctx: ctx, fn: fn}
	w := &s.w
	w.mu.Lock()
	if s.closed.Load() {
		w.mu.Unlock()
		return s.classify(errClosed)
	}
	w.queue = append(w.queue, op)
	if w.leading {
		op.wake = make(chan bool, 1)
		w.mu.Unlock()
		if lead := <-op.wake; !lead {
			return op.err
		}
	} else {
		w.leading = true
		w.mu.Unlock()
		if runtime.GOMAXPROCS(0) == 1 {
			// With one P, no other goroutine runs while this one leads,
			// so none could join the batch: yield once to let those that
			// are runnable queue their writes first. With more Ps they
			// queue while the batch runs, and yielding only costs.
			runtime.Gosched()
		}
	}
	s.lead() // op heads the queue, so the first batch runs it
	return op.err
}

// lead runs one batch from the head of the queue, then passes leadership
// on, or gives it up when nothing is queued.
func (s *Store) lead() {
	batch := s.w.take()
	s.runBatch(batch)
	s.w.handOff()
	for _, op := range batch[1:] { // batch[0] is the leader's own write
		op.wake <- false
	}
}

// take removes the next batch from the queue.
func (w *writer) take() []*writeOp {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := min(len(w.queue), maxBatch)
	batch := w.queue[:n:n]
	if w.queue = w.queue[n:]; len(w.queue) == 0 {
		w.queue = nil // do not keep the array growing
	}
	return batch
}

// handOff ends a leader's turn: the oldest queued write's caller leads
// next, or, with nothing queued, nobody does.
func (w *writer) handOff() {
	w.mu.Lock()
	if len(w.queue) == 0 {
		w.leading = false
		w.idle.Broadcast()
		w.mu.Unlock()
		return
	}
	next := w.queue[0]
	w.mu.Unlock()
	next.wake <- true
}

// runBatch runs the writes of batch as one transaction and sets their
// errors.
//
// No savepoint guards each write (that would cost two statements a
// write). Instead the write functions keep a rule: a failure reported
// with a sentinel that wroteNothing accepts — not found, conflict, exists —
// happens before they change anything, so such a write needs no undoing
// and the batch goes on. Any other failure may have left part of a write
// behind: the whole transaction is rolled back, and the batch's other
// writes run again without the failed one. That is rare (a full disk, an
// I/O error, a bug), and correct, since a write is not acknowledged before
// its transaction commits.
func (s *Store) runBatch(batch []*writeOp) {
	w := &s.w
	ctx := context.Background() // the batch's own statements must run to the end
	if _, err := w.begin.ExecContext(ctx); err != nil {
		err = s.classify(err)
		for _, op := range batch {
			op.err = err
		}
		return
	}
	for i, op := range batch {
		if op.err = s.call(op); op.err == nil || wroteNothing(op.err) {
			continue
		}
		// The error that got us here is the one to report; a failed
		// rollback also leaves no transaction open.
		_, _ = w.rollback.ExecContext(ctx)
		if len(batch) > 1 {
			others := make([]*writeOp, 0, len(batch)-1)
			s.runBatch(append(append(others, batch[:i]...), batch[i+1:]...))
		}
		return
	}
	if _, err := w.commit.ExecContext(ctx); err != nil {
		_, _ = w.rollback.ExecContext(ctx)
		err = s.classify(err)
		for _, op := range batch {
			if op.err == nil {
				op.err = err
			}
		}
		return
	}
	if w.commits++; w.commits%checkpointEvery == 0 {
		select {
		case w.nudge <- struct{}{}:
		default: // a checkpoint is pending already
		}
	}
}

// wroteNothing reports whether a write that failed with err is known to
// have changed nothing (see runBatch).
func wroteNothing(err error) bool {
	return errors.Is(err, taskstore.ErrNotFound) || errors.Is(err, taskstore.ErrConflict) ||
		errors.Is(err, taskstore.ErrExists)
}

// call runs one write. A panic in it becomes its error: it must not leave
// the transaction open and every other writer waiting forever.
func (s *Store) call(op *writeOp) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sqlitestore: write panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return s.classify(op.fn(op.ctx, &s.w))
}

// stmtSQL pairs a statement field with its text, so each file keeps the
// SQL next to the code that runs it and preparation stays one loop.
type stmtSQL struct {
	dst  **sql.Stmt
	text string
}

func prepareAll(ctx context.Context, prepare func(context.Context, string) (*sql.Stmt, error), list []stmtSQL) error {
	for _, p := range list {
		st, err := prepare(ctx, p.text)
		if err != nil {
			return fmt.Errorf("preparing %q: %w", p.text, err)
		}
		*p.dst = st
	}
	return nil
}

// affected runs a write statement and returns how many rows it changed,
// which is how most writes tell "done" from "nothing there".
func affected(ctx context.Context, stmt *sql.Stmt, args ...any) (int64, error) {
	res, err := stmt.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
