package cardsign

import "errors"

// Sentinel errors let callers choose a policy (e.g. "unsigned is acceptable
// in dev, an invalid signature never is") with errors.Is, without parsing
// messages. Verify wraps exactly one of them, with details appended.
var (
	// ErrUnsigned means the card carries no signatures at all.
	ErrUnsigned = errors.New("cardsign: agent card is not signed")
	// ErrUnknownKey means no signature names a kid present in the trusted
	// KeySet, so nothing could be checked.
	ErrUnknownKey = errors.New("cardsign: no signature made with a trusted key")
	// ErrInvalidSignature means a signature by a trusted kid did not verify:
	// the card was altered, the key is wrong, or the header asks for an
	// algorithm that key may not use.
	ErrInvalidSignature = errors.New("cardsign: invalid agent card signature")
	// ErrMalformed means a signature could not even be decoded (bad base64,
	// bad JSON, missing alg/kid, oversized, unsupported crit/b64).
	ErrMalformed = errors.New("cardsign: malformed agent card signature")
)
