package registry

import (
	"context"
	"encoding/base64"

	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
)

// Page sizes of SearchAgents.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// pageTokenPrefix versions the page token, so its form can change without
// old tokens being misread.
const pageTokenPrefix = "a:"

// SearchAgents implements [registryv1.RegistryServiceServer]: one page of
// the registrations matching the filter (see package agentfilter), ordered
// by agent_id. It reads this replica's view. The page token is the last id
// of the previous page, so paging is stable under concurrent changes: a
// registration added behind the cursor is simply not seen, none is seen
// twice.
func (s *Service) SearchAgents(_ context.Context, req *registryv1.SearchAgentsRequest) (*registryv1.SearchAgentsResponse, error) {
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		return nil, a2agrpc.InvalidParams("pageSize", "must not be negative, got %d", size)
	case size == 0:
		size = DefaultPageSize
	case size > MaxPageSize:
		size = MaxPageSize
	}
	after, err := decodePageToken(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	page := s.view.search(req.GetFilter(), after, size+1)
	resp := &registryv1.SearchAgentsResponse{}
	if len(page) > size {
		page = page[:size]
		resp.NextPageToken = encodePageToken(page[size-1].GetAgentId())
	}
	for _, r := range page {
		resp.Agents = append(resp.Agents, proto.Clone(r).(*registryv1.AgentRegistration))
	}
	return resp, nil
}

func encodePageToken(lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(pageTokenPrefix + lastID))
}

func decodePageToken(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	id, ok := "", false
	if err == nil && len(raw) > len(pageTokenPrefix) && string(raw[:len(pageTokenPrefix)]) == pageTokenPrefix {
		id, ok = string(raw[len(pageTokenPrefix):]), true
	}
	if !ok || validAgentID(id) != nil {
		return "", a2agrpc.InvalidParams("pageToken", "is not a token returned by SearchAgents")
	}
	return id, nil
}
