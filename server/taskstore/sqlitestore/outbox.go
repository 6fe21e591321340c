package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// The outbox is filled by Update (see sqlEnqueue) in the transaction that
// logs the event, so a notification exists exactly when its event does. A
// claim leases deliveries by moving their due time past the lease: a
// claimer that dies before completing one only delays it until then. One
// process owns the file, so a transaction is all the coordination a claim
// needs. Only the head of each webhook's queue is claimable (see the
// push_outbox table), which keeps one webhook's notifications in order.
//
// Queued deliveries belong to their config (a foreign key with ON DELETE
// CASCADE): deleting the config, or its task when retention expires it,
// drops them.

const (
	// ?1 task, ?2 seq, ?3 event, ?4 due (now): one row per config of the
	// task, each the head of its queue if the queue was empty.
	sqlEnqueue = `INSERT INTO push_outbox (task_id, config_id, seq, event, due, head)
SELECT c.task_id, c.id, ?2, ?3, ?4,
    NOT EXISTS (SELECT 1 FROM push_outbox o WHERE o.task_id = c.task_id AND o.config_id = c.id)
FROM push_configs c WHERE c.task_id = ?1 ORDER BY c.ord`

	// The config is read as it stands at claim time, so a replaced URL or
	// token applies to deliveries queued before the change.
	sqlClaimDue = `SELECT o.id, o.seq, o.event, o.attempts, c.config
FROM push_outbox o JOIN push_configs c ON c.task_id = o.task_id AND c.id = o.config_id
WHERE o.head = 1 AND o.due <= ?1 ORDER BY o.due, o.id LIMIT ?2`

	// Within the claim's transaction this selects the same rows as
	// sqlClaimDue.
	sqlClaimLease = `UPDATE push_outbox SET due = ?3
WHERE id IN (SELECT id FROM push_outbox WHERE head = 1 AND due <= ?1 ORDER BY due, id LIMIT ?2)`

	// Removing a head promotes the next delivery (a trigger does it).
	sqlCompleteDelivery = `DELETE FROM push_outbox WHERE id = ?1`
	// A delivery that is not a head keeps the new due time for when it
	// becomes one.
	sqlRetryDelivery = `UPDATE push_outbox SET attempts = attempts + 1, due = ?2 WHERE id = ?1`
)

// ClaimDeliveries implements [taskstore.Outbox].
func (s *Store) ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]taskstore.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []taskstore.Delivery
	err := s.write(ctx, func(ctx context.Context, w *writer) error {
		out = out[:0]
		now := s.now()
		rows, err := w.claimDue.QueryContext(ctx, now, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				d         taskstore.Delivery
				ev, cfg   sql.RawBytes
				attempts  int64
				decodeErr error
			)
			if err := rows.Scan(&d.ID, &d.Seq, &ev, &attempts, &cfg); err != nil {
				return err
			}
			d.Attempts = int(attempts)
			d.Event = new(a2av1.StreamResponse)
			if decodeErr = proto.Unmarshal(ev, d.Event); decodeErr == nil {
				d.Config, decodeErr = decodePushConfig(cfg)
			}
			if decodeErr != nil {
				d.Config, d.Event = nil, nil
				d.Err = fmt.Errorf("sqlitestore: decoding delivery %d: %w", d.ID, decodeErr)
			}
			out = append(out, d)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		_, err = w.claimLease.ExecContext(ctx, now, limit, now+int64(lease))
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CompleteDelivery implements [taskstore.Outbox]. Completing a delivery
// twice, or one whose config was deleted, succeeds.
func (s *Store) CompleteDelivery(ctx context.Context, id int64) error {
	return s.write(ctx, func(ctx context.Context, w *writer) error {
		_, err := w.completeDelivery.ExecContext(ctx, id)
		return err
	})
}

// RetryDelivery implements [taskstore.Outbox]. ErrNotFound if the
// delivery is gone (completed, or its config deleted).
func (s *Store) RetryDelivery(ctx context.Context, id int64, at time.Time) error {
	return s.write(ctx, func(ctx context.Context, w *writer) error {
		n, err := affected(ctx, w.retryDelivery, id, at.UnixNano())
		if err == nil && n == 0 {
			return taskstore.ErrNotFound
		}
		return err
	})
}
