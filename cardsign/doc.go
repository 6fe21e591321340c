// Package cardsign signs and verifies A2A Agent Cards with detached JWS
// signatures as described in A2A v1.0 §8.4.
//
// A card is signed over its canonical form (see Canonical): the proto3 JSON
// of the card under protobuf field-presence rules, with REQUIRED fields always
// present, the signatures field removed, and the result canonicalized with
// RFC 8785 (JCS). Both sides must derive byte-identical payloads from the same
// logical card, which is why canonicalization is driven by the proto
// descriptor rather than by whatever JSON happened to be on the wire.
//
// Each AgentCardSignature carries a protected header (alg, kid, typ "JOSE",
// optional jku) and a signature over
// ASCII(BASE64URL(protected) || '.' || BASE64URL(payload)). The payload
// itself is never transmitted: verifiers recompute it from the card they
// received.
//
// Verification is deliberately closed-world: keys come only from a KeySet the
// caller trusts, jku URLs are never dereferenced, HMAC and "none" are never
// accepted, and the header's alg must match the trusted key's type. A card
// verifies if at least one of its signatures does, so publishers can rotate
// keys by signing with both the old and the new key for a while.
//
// Fields this build's proto does not know are dropped when a card is decoded,
// so a card produced by a newer schema verifies only if its unknown fields are
// empty; that is inherent to a proto-defined payload, not a bug.
package cardsign
