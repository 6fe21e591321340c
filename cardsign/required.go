package cardsign

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"sync"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// maxDefaultDepth stops synthesizing defaults for chains of REQUIRED message
// fields. Real schemas are shallow; only a REQUIRED self-reference could hit
// it, and such a schema has no finite canonical form.
const maxDefaultDepth = 32

// requiredCache memoizes the field_behavior lookup, which otherwise decodes
// the extension from the field options on every call.
var requiredCache sync.Map // protoreflect.FullName -> bool

// isRequired reports whether fd carries (google.api.field_behavior) =
// REQUIRED. Members of a real oneof are never treated as required: filling
// one in would select that oneof case, changing the card's meaning.
func isRequired(fd protoreflect.FieldDescriptor) bool {
	if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
		return false
	}
	if v, ok := requiredCache.Load(fd.FullName()); ok {
		return v.(bool)
	}
	req := false
	if opts, ok := fd.Options().(*descriptorpb.FieldOptions); ok && opts != nil {
		behaviors, _ := proto.GetExtension(opts, annotations.E_FieldBehavior).([]annotations.FieldBehavior)
		req = slices.Contains(behaviors, annotations.FieldBehavior_REQUIRED)
	}
	requiredCache.Store(fd.FullName(), req)
	return req
}

// isWellKnown reports google.protobuf.* types. Their JSON forms are special
// (Struct is a free-form object, Timestamp a string, ...), so their contents
// are never walked as if they were ordinary messages.
func isWellKnown(md protoreflect.MessageDescriptor) bool {
	return md.ParentFile().Package() == "google.protobuf"
}

// addRequired walks obj, the protojson form of a message of type md, adding
// missing REQUIRED fields and descending into every present message value.
func addRequired(obj map[string]any, md protoreflect.MessageDescriptor, depth int) error {
	if isWellKnown(md) {
		return nil
	}
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		name := fd.JSONName()
		v, present := obj[name]
		if !present {
			if !isRequired(fd) {
				continue
			}
			def, err := defaultJSON(fd, depth)
			if err != nil {
				return err
			}
			obj[name] = def
			continue
		}
		if err := descend(fd, v, depth); err != nil {
			return err
		}
	}
	return nil
}

// descend applies addRequired to the message values held by field fd.
func descend(fd protoreflect.FieldDescriptor, v any, depth int) error {
	switch {
	case fd.IsMap():
		if fd.MapValue().Kind() != protoreflect.MessageKind {
			return nil
		}
		m, _ := v.(map[string]any)
		for _, elem := range m {
			if err := descendMessage(fd.MapValue().Message(), elem, depth); err != nil {
				return err
			}
		}
	case fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind:
		return nil
	case fd.IsList():
		l, _ := v.([]any)
		for _, elem := range l {
			if err := descendMessage(fd.Message(), elem, depth); err != nil {
				return err
			}
		}
	default:
		return descendMessage(fd.Message(), v, depth)
	}
	return nil
}

func descendMessage(md protoreflect.MessageDescriptor, v any, depth int) error {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil // a well-known type with a non-object JSON form
	}
	return addRequired(obj, md, depth)
}

// defaultJSON is the proto3 JSON a REQUIRED field shows when unset: what
// protojson would print with EmitUnpopulated for that one field. The A2A
// proto is proto3, so scalar defaults are always the zero value.
func defaultJSON(fd protoreflect.FieldDescriptor, depth int) (any, error) {
	switch {
	case fd.IsMap():
		return map[string]any{}, nil
	case fd.IsList():
		return []any{}, nil
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return defaultMessage(fd.Message(), depth+1)
	case protoreflect.EnumKind:
		if fd.Enum().FullName() == "google.protobuf.NullValue" {
			return nil, nil
		}
		num := fd.Default().Enum()
		if ev := fd.Enum().Values().ByNumber(num); ev != nil {
			return string(ev.Name()), nil
		}
		return json.Number(strconv.FormatInt(int64(num), 10)), nil
	case protoreflect.BoolKind:
		return false, nil
	case protoreflect.StringKind, protoreflect.BytesKind:
		return "", nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return "0", nil // protojson quotes 64-bit integers
	default:
		return json.Number("0"), nil
	}
}

// defaultMessage renders an empty message of type md the way protojson does
// (so well-known types get their special form, e.g. a Timestamp string) and
// then adds that message's own REQUIRED fields.
func defaultMessage(md protoreflect.MessageDescriptor, depth int) (any, error) {
	if depth > maxDefaultDepth {
		return nil, errors.New("cardsign: REQUIRED message fields nest too deeply to synthesize defaults")
	}
	raw, err := protojson.Marshal(dynamicpb.NewMessage(md))
	if err != nil {
		// Only google.protobuf.Value has no valid empty form; null is its
		// closest JSON reading.
		return nil, nil
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, err
	}
	if obj, ok := v.(map[string]any); ok {
		if err := addRequired(obj, md, depth); err != nil {
			return nil, err
		}
	}
	return v, nil
}
