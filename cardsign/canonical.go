package cardsign

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gowebpki/jcs"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// signaturesField is looked up from the descriptor rather than spelled out so
// a rename in the proto cannot silently leave signatures inside the payload.
var signaturesField = (&a2av1.AgentCard{}).ProtoReflect().Descriptor().Fields().ByName("signatures")

// Canonical returns the exact bytes an Agent Card signature covers (A2A v1.0
// §8.4): the card's proto3 JSON under field-presence rules, without
// "signatures", canonicalized with RFC 8785.
//
// Presence rules, and why each source is used:
//   - protojson with default options already omits fields at their default
//     and keeps explicitly set optional fields even when false/""/0, which
//     is exactly the spec's rule for non-required fields;
//   - fields annotated (google.api.field_behavior) = REQUIRED are then added
//     back with their proto3 JSON default when protojson dropped them, at
//     every depth, including inside repeated and map message values and
//     inside set oneof members (see addRequired).
//
// For lf.a2a.v1.AgentCard this means name, description, supportedInterfaces,
// version, capabilities, defaultInputModes, defaultOutputModes and skills are
// always present; inside them AgentInterface.{url, protocolBinding,
// protocolVersion}, AgentSkill.{id, name, description, tags},
// AgentProvider.{url, organization} and the REQUIRED members of security
// schemes and OAuth flows (e.g. "scopes":{}) appear whenever their parent
// does.
//
// The result does not depend on the card's signatures, so it is stable across
// signing, and the input is never modified.
func Canonical(card *a2av1.AgentCard) ([]byte, error) {
	if card == nil {
		return nil, errors.New("cardsign: nil agent card")
	}
	raw, err := protojson.Marshal(withoutSignatures(card))
	if err != nil {
		return nil, fmt.Errorf("cardsign: marshal agent card: %w", err)
	}
	// protojson deliberately varies its whitespace between runs, so its
	// output is parsed rather than patched textually.
	doc, err := decodeJSON(raw)
	if err != nil {
		return nil, err
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, errors.New("cardsign: agent card JSON is not an object")
	}
	if err := addRequired(obj, card.ProtoReflect().Descriptor(), 0); err != nil {
		return nil, err
	}
	// Belt and braces: the field was not marshaled, but REQUIRED filling
	// must never be able to reintroduce it.
	delete(obj, signaturesField.JSONName())

	flat, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("cardsign: re-encode agent card: %w", err)
	}
	out, err := jcs.Transform(flat)
	if err != nil {
		return nil, fmt.Errorf("cardsign: canonicalize agent card: %w", err)
	}
	return out, nil
}

// withoutSignatures builds a shallow view of card with every field but
// signatures. Signatures are excluded before marshaling (not just deleted
// afterwards) so that a junk unprotected header appended by a third party
// cannot make the whole card fail to canonicalize.
func withoutSignatures(card *a2av1.AgentCard) protoreflect.ProtoMessage {
	src := card.ProtoReflect()
	dst := src.New()
	src.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Number() != signaturesField.Number() {
			dst.Set(fd, v)
		}
		return true
	})
	return dst.Interface()
}

// decodeJSON parses with UseNumber so numbers reach JCS as written by
// protojson instead of being rounded through float64 twice.
func decodeJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("cardsign: re-parse agent card JSON: %w", err)
	}
	return v, nil
}
