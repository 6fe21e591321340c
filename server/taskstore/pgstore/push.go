package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/server/taskstore"
)

// putPushConfigSQL inserts only if the task is there and live, so one
// statement both checks the task and stores the config. A replaced config
// keeps its ordinal, hence its place in the listing order.
const putPushConfigSQL = `
INSERT INTO push_configs (task_id, id, config)
SELECT t.id, $2, $3 FROM tasks t WHERE t.id = $1 AND ` + liveTask + `
ON CONFLICT (task_id, id) DO UPDATE SET config = excluded.config`

// PutPushConfig implements [taskstore.Store].
func (s *Store) PutPushConfig(ctx context.Context, cfg *a2av1.TaskPushNotificationConfig) error {
	blob, err := proto.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("pgstore: encoding push config: %w", err)
	}
	tag, err := s.pool.Exec(ctx, putPushConfigSQL, cfg.GetTaskId(), cfg.GetId(), blob)
	switch {
	case isCode(err, codeForeignKeyViolation): // the task was deleted meanwhile
		return taskstore.ErrNotFound
	case err != nil:
		return s.fail(ctx, err)
	case tag.RowsAffected() == 0:
		return taskstore.ErrNotFound
	}
	return nil
}

// GetPushConfig implements [taskstore.Store].
func (s *Store) GetPushConfig(ctx context.Context, taskID, id string) (*a2av1.TaskPushNotificationConfig, error) {
	var blob []byte
	err := s.pool.QueryRow(ctx, `
		SELECT c.config FROM push_configs c JOIN tasks t ON t.id = c.task_id
		WHERE c.task_id = $1 AND c.id = $2 AND `+liveTask, taskID, id).Scan(&blob)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, taskstore.ErrNotFound
	}
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return decodePushConfig(blob)
}

// listPushConfigsSQL returns no row for a missing task, else the number of
// its configs (to validate the offset and decide on a next page) and the
// page itself, in one statement. A NULL limit is no limit.
const listPushConfigsSQL = `
SELECT (SELECT count(*) FROM push_configs c WHERE c.task_id = t.id),
       ARRAY(SELECT c.config FROM push_configs c WHERE c.task_id = t.id
             ORDER BY c.ordinal OFFSET $2 LIMIT $3)
FROM tasks t WHERE t.id = $1 AND ` + liveTask

// ListPushConfigs implements [taskstore.Store]. Page tokens are positions
// in creation order, as in the in-memory store.
func (s *Store) ListPushConfigs(ctx context.Context, taskID string, pageSize int, pageToken string) ([]*a2av1.TaskPushNotificationConfig, string, error) {
	offset, err := taskstore.DecodeOffsetCursor(pageToken)
	if err != nil {
		return nil, "", err
	}
	var limit *int64
	if pageSize > 0 {
		n := int64(pageSize)
		limit = &n
	}
	var (
		total int64
		blobs [][]byte
	)
	err = s.pool.QueryRow(ctx, listPushConfigsSQL, taskID, int64(offset), limit).Scan(&total, &blobs)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", taskstore.ErrNotFound
	}
	if err != nil {
		return nil, "", s.fail(ctx, err)
	}
	if int64(offset) > total {
		return nil, "", taskstore.ErrInvalidPageToken
	}
	out := make([]*a2av1.TaskPushNotificationConfig, 0, len(blobs))
	for _, blob := range blobs {
		cfg, err := decodePushConfig(blob)
		if err != nil {
			return nil, "", err
		}
		out = append(out, cfg)
	}
	next := ""
	if end := offset + len(out); int64(end) < total {
		next = taskstore.EncodeOffsetCursor(end)
	}
	return out, next, nil
}

// DeletePushConfig implements [taskstore.Store]. The deliveries queued for
// the config go with it (ON DELETE CASCADE), so nothing more is sent to it.
func (s *Store) DeletePushConfig(ctx context.Context, taskID, id string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM push_configs WHERE task_id = $1 AND id = $2`, taskID, id)
	return s.fail(ctx, err)
}

func decodePushConfig(blob []byte) (*a2av1.TaskPushNotificationConfig, error) {
	cfg := new(a2av1.TaskPushNotificationConfig)
	if err := proto.Unmarshal(blob, cfg); err != nil {
		return nil, fmt.Errorf("pgstore: decoding push config: %w", err)
	}
	return cfg, nil
}
