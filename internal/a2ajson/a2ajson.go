// Package a2ajson is the one place that decides how A2A messages look as
// JSON on every HTTP surface (REST bodies, SSE events, JSON-RPC params and
// results, the Agent Card): ProtoJSON with camelCase names and enum names,
// unset fields omitted, unknown fields ignored when reading — plus the
// exceptions A2A makes to those rules.
package a2ajson

import (
	"bytes"
	"encoding/json"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// MarshalOptions write ProtoJSON with unset fields omitted.
var MarshalOptions = protojson.MarshalOptions{}

// UnmarshalOptions read ProtoJSON leniently: unknown fields are ignored (so
// v0.3 leftovers such as "kind" do not fail a request); proto names and enum
// numbers are accepted as protojson always does.
var UnmarshalOptions = protojson.UnmarshalOptions{DiscardUnknown: true}

// Marshal encodes m. ListTasksResponse always carries tasks, nextPageToken,
// pageSize and totalSize, because A2A requires them even when empty or zero.
func Marshal(m proto.Message) ([]byte, error) {
	b, err := MarshalOptions.Marshal(m)
	if err != nil {
		return nil, err
	}
	if _, ok := m.(*a2av1.ListTasksResponse); ok {
		return withRequiredKeys(b, map[string]string{
			"tasks": "[]", "nextPageToken": `""`, "pageSize": "0", "totalSize": "0",
		})
	}
	return b, nil
}

// Unmarshal decodes ProtoJSON into m.
func Unmarshal(b []byte, m proto.Message) error { return UnmarshalOptions.Unmarshal(b, m) }

// withRequiredKeys adds the keys missing from a JSON object with the given
// JSON values, keeping the fields already there.
func withRequiredKeys(obj []byte, defaults map[string]string) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(obj, &fields); err != nil {
		return nil, err
	}
	changed := false
	for k, v := range defaults {
		if _, ok := fields[k]; !ok {
			fields[k] = json.RawMessage(v)
			changed = true
		}
	}
	if !changed {
		return obj, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if err := enc.Encode(fields); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
