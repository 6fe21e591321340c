package pgstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"google.golang.org/protobuf/proto"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// The outbox keeps one FIFO queue per webhook (task id, config id): only
// a queue's head, its lowest id, can be claimed, so a webhook never gets a
// notification before the ones queued earlier, even across replicas and
// retries.
//
// Whether a row is a head is decided by looking for an earlier row of its
// queue, never by a stored flag: a flag would have to be handed over when
// the head goes, and a handover racing with an enqueue in another
// transaction could leave a queue with no head at all. The due time of a
// row behind the head does not decide anything; it is kept no earlier than
// the head's so that a queue held back by a retry stays out of the range
// the claim scans. Without that, every claim would step over every
// notification waiting behind a failing webhook.

// claimSQL leases up to $1 due queue heads for $2 microseconds. SKIP
// LOCKED lets replicas claim at the same time without waiting for each
// other or taking the same row. The lease is the due time itself, so a
// claimer that dies leaves nothing to clean up: the head simply becomes
// due again. The config is joined as it stands now, so a webhook whose URL
// or token changed since the event is sent to as it is configured today.
const claimSQL = `
WITH claim AS (
	SELECT o.id, o.due AS was_due FROM push_outbox o
	WHERE o.due <= now()
	  AND NOT EXISTS (SELECT 1 FROM push_outbox p
	                  WHERE p.task_id = o.task_id AND p.config_id = o.config_id AND p.id < o.id)
	ORDER BY o.due, o.id
	LIMIT $1
	FOR UPDATE OF o SKIP LOCKED
)
UPDATE push_outbox o SET due = now() + $2::bigint * interval '1 microsecond'
FROM claim, push_configs c
WHERE o.id = claim.id AND c.task_id = o.task_id AND c.id = o.config_id
RETURNING o.id, claim.was_due, c.config, o.seq, o.event, o.attempts`

// ClaimDeliveries implements [taskstore.Outbox].
func (s *Store) ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]taskstore.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, claimSQL, limit, lease.Microseconds())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	defer rows.Close()
	type claimed struct {
		taskstore.Delivery
		wasDue time.Time
	}
	var got []claimed
	for rows.Next() {
		var (
			c             claimed
			config, event []byte
			attempts      int32
		)
		if err := rows.Scan(&c.ID, &c.wasDue, &config, &c.Seq, &event, &attempts); err != nil {
			return nil, s.fail(ctx, err)
		}
		c.Event = new(a2av1.StreamResponse)
		if err := proto.Unmarshal(event, c.Event); err != nil {
			c.Err = fmt.Errorf("pgstore: decoding delivery %d: %w", c.ID, err)
		} else if c.Config, err = decodePushConfig(config); err != nil {
			c.Err = fmt.Errorf("pgstore: decoding the push config of delivery %d: %w", c.ID, err)
		}
		if c.Err != nil {
			c.Config, c.Event = nil, nil
		}
		c.Attempts = int(attempts)
		got = append(got, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	// RETURNING follows no ORDER BY; restore the claim order.
	sort.Slice(got, func(i, j int) bool {
		if !got[i].wasDue.Equal(got[j].wasDue) {
			return got[i].wasDue.Before(got[j].wasDue)
		}
		return got[i].ID < got[j].ID
	})
	out := make([]taskstore.Delivery, len(got))
	for i, c := range got {
		out[i] = c.Delivery
	}
	return out, nil
}

// completeSQL deletes a delivery and makes the next one of its queue due
// now, whatever its due time was (behind the head it was only a hint).
const completeSQL = `
WITH gone AS (
	DELETE FROM push_outbox WHERE id = $1 RETURNING task_id, config_id, id
)
UPDATE push_outbox o SET due = now() FROM gone
WHERE o.id = (SELECT min(p.id) FROM push_outbox p
              WHERE p.task_id = gone.task_id AND p.config_id = gone.config_id AND p.id > gone.id)`

// CompleteDelivery implements [taskstore.Outbox]. Completing a delivery
// that is already gone succeeds: another claimer whose lease outlived ours
// may have completed it first.
func (s *Store) CompleteDelivery(ctx context.Context, id int64) error {
	_, err := s.pool.Exec(ctx, completeSQL, id)
	return s.fail(ctx, err)
}

// retrySQL counts the attempt, makes the delivery due again after $2
// microseconds, and holds the rest of its queue back at least as long.
const retrySQL = `
WITH head AS (
	UPDATE push_outbox SET attempts = attempts + 1, due = now() + $2::bigint * interval '1 microsecond'
	WHERE id = $1
	RETURNING task_id, config_id, id, due
), held AS (
	UPDATE push_outbox o SET due = head.due FROM head
	WHERE o.task_id = head.task_id AND o.config_id = head.config_id AND o.id > head.id AND o.due < head.due
)
SELECT count(*) FROM head`

// RetryDelivery implements [taskstore.Outbox]. at is read as a delay from
// now on the caller's clock, applied to the database's clock (see [Store]).
// ErrNotFound if the delivery is gone (completed, or its config deleted).
func (s *Store) RetryDelivery(ctx context.Context, id int64, at time.Time) error {
	var n int64
	if err := s.pool.QueryRow(ctx, retrySQL, id, time.Until(at).Microseconds()).Scan(&n); err != nil {
		return s.fail(ctx, err)
	}
	if n == 0 {
		return taskstore.ErrNotFound
	}
	return nil
}
