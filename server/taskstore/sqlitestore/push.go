package sqlitestore

import (
	"context"
	"database/sql"
	"errors"

	"google.golang.org/protobuf/proto"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

const (
	// The insert selects from tasks, so it inserts nothing for a missing
	// or expired task. A new config takes the next ordinal of its task; a
	// replaced one keeps its place in the creation order.
	sqlPutPush = `INSERT INTO push_configs (task_id, id, ord, config)
SELECT t.id, ?2, coalesce((SELECT max(ord) FROM push_configs WHERE task_id = ?1), 0) + 1, ?3
FROM tasks t
WHERE t.id = ?1 AND (t.terminal_at IS NULL OR t.terminal_at > ?4) AND (t.waiting_at IS NULL OR t.waiting_at > ?5)
ON CONFLICT (task_id, id) DO UPDATE SET config = excluded.config`

	// The outbox's foreign key cascades: deleting a config drops its
	// queued deliveries in the same statement.
	sqlDeletePush = `DELETE FROM push_configs WHERE task_id = ?1 AND id = ?2`

	sqlGetPush = `SELECT c.config FROM push_configs c JOIN tasks t ON t.id = c.task_id
WHERE c.task_id = ?1 AND c.id = ?2
    AND (t.terminal_at IS NULL OR t.terminal_at > ?3) AND (t.waiting_at IS NULL OR t.waiting_at > ?4)`

	// The left join yields one row with a NULL config for a live task
	// without configs, which tells it apart from a missing task.
	sqlListPush = `SELECT c.ord, c.config FROM tasks t LEFT JOIN push_configs c ON c.task_id = t.id
WHERE t.id = ?1 AND (t.terminal_at IS NULL OR t.terminal_at > ?2) AND (t.waiting_at IS NULL OR t.waiting_at > ?3)
ORDER BY c.ord`
)

// encodePushConfigs encodes configs before a write transaction begins.
func encodePushConfigs(cfgs []*a2av1.TaskPushNotificationConfig) ([][]byte, error) {
	blobs := make([][]byte, len(cfgs))
	for i, cfg := range cfgs {
		var err error
		if blobs[i], err = proto.Marshal(cfg); err != nil {
			return nil, err
		}
	}
	return blobs, nil
}

// PutPushConfig implements [taskstore.Store].
func (s *Store) PutPushConfig(ctx context.Context, cfg *a2av1.TaskPushNotificationConfig) error {
	blob, err := proto.Marshal(cfg)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, w *writer) error {
		term, wait := s.cutoffs(s.now())
		n, err := affected(ctx, w.putPush, cfg.GetTaskId(), cfg.GetId(), blob, term, wait)
		if err == nil && n == 0 {
			return taskstore.ErrNotFound
		}
		return err
	})
}

// GetPushConfig implements [taskstore.Store].
func (s *Store) GetPushConfig(ctx context.Context, taskID, id string) (*a2av1.TaskPushNotificationConfig, error) {
	ctx, err := detached(ctx)
	if err != nil {
		return nil, err
	}
	term, wait := s.cutoffs(s.now())
	var blob []byte
	switch err := s.r.getPush.QueryRowContext(ctx, taskID, id, term, wait).Scan(&blob); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, taskstore.ErrNotFound
	case err != nil:
		return nil, s.classify(err)
	}
	return decodePushConfig(blob)
}

func decodePushConfig(blob []byte) (*a2av1.TaskPushNotificationConfig, error) {
	cfg := new(a2av1.TaskPushNotificationConfig)
	if err := proto.Unmarshal(blob, cfg); err != nil {
		return nil, errors.Join(errors.New("sqlitestore: decoding a push config"), err)
	}
	return cfg, nil
}

// ListPushConfigs implements [taskstore.Store]. A task has a handful of
// configs, so all are read and the page is cut in memory; the token is the
// position in creation order, as for the in-memory store.
func (s *Store) ListPushConfigs(ctx context.Context, taskID string, pageSize int, pageToken string) ([]*a2av1.TaskPushNotificationConfig, string, error) {
	offset, err := taskstore.DecodeOffsetCursor(pageToken)
	if err != nil {
		return nil, "", err
	}
	ctx, err = detached(ctx)
	if err != nil {
		return nil, "", err
	}
	term, wait := s.cutoffs(s.now())
	rows, err := s.r.listPush.QueryContext(ctx, taskID, term, wait)
	if err != nil {
		return nil, "", s.classify(err)
	}
	defer rows.Close()
	found := false
	var all []*a2av1.TaskPushNotificationConfig
	for rows.Next() {
		found = true
		var ord sql.NullInt64
		var blob sql.RawBytes
		if err := rows.Scan(&ord, &blob); err != nil {
			return nil, "", s.classify(err)
		}
		if !ord.Valid {
			break // a task without configs
		}
		cfg, err := decodePushConfig(blob)
		if err != nil {
			return nil, "", err
		}
		all = append(all, cfg)
	}
	if err := rows.Err(); err != nil {
		return nil, "", s.classify(err)
	}
	if !found {
		return nil, "", taskstore.ErrNotFound
	}
	if offset > len(all) {
		return nil, "", taskstore.ErrInvalidPageToken
	}
	end := len(all)
	if pageSize > 0 && offset+pageSize < end {
		end = offset + pageSize
	}
	next := ""
	if end < len(all) {
		next = taskstore.EncodeOffsetCursor(end)
	}
	return all[offset:end], next, nil
}

// DeletePushConfig implements [taskstore.Store]. Deleting an absent
// config, or one of an absent task, succeeds.
func (s *Store) DeletePushConfig(ctx context.Context, taskID, id string) error {
	return s.write(ctx, func(ctx context.Context, w *writer) error {
		_, err := w.deletePush.ExecContext(ctx, taskID, id)
		return err
	})
}
