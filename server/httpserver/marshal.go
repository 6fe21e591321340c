package httpserver

import (
	"io"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"

	"github.com/a2agrpc/a2agrpc"
	"github.com/a2agrpc/a2agrpc/internal/a2ajson"
)

// jsonMarshaler is the gateway's marshaler for every JSON content type: the
// A2A ProtoJSON rules of package a2ajson, answered with contentType.
type jsonMarshaler struct {
	runtime.JSONPb
	contentType string
}

func newMarshaler(contentType string) *jsonMarshaler {
	return &jsonMarshaler{
		JSONPb:      runtime.JSONPb{MarshalOptions: a2ajson.MarshalOptions, UnmarshalOptions: a2ajson.UnmarshalOptions},
		contentType: contentType,
	}
}

func (m *jsonMarshaler) ContentType(any) string { return m.contentType }

func (m *jsonMarshaler) Marshal(v any) ([]byte, error) {
	if msg, ok := v.(proto.Message); ok {
		return a2ajson.Marshal(msg)
	}
	return m.JSONPb.Marshal(v)
}

func (m *jsonMarshaler) NewEncoder(w io.Writer) runtime.Encoder {
	return runtime.EncoderFunc(func(v any) error {
		b, err := m.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
}

// marshalerOptions registers the A2A marshalers: application/a2a+json (also
// for */* and unknown types) and application/json.
func marshalerOptions() []runtime.ServeMuxOption {
	a2a := newMarshaler(a2agrpc.MediaTypeA2AJSON)
	return []runtime.ServeMuxOption{
		runtime.WithMarshalerOption(runtime.MIMEWildcard, a2a),
		runtime.WithMarshalerOption(a2agrpc.MediaTypeA2AJSON, a2a),
		runtime.WithMarshalerOption(a2agrpc.MediaTypeJSON, newMarshaler(a2agrpc.MediaTypeJSON)),
	}
}
