package cardsign_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/a2agrpc/a2agrpc/cardsign"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// A publisher signs its card and serves jwks.json; a client fetches both,
// builds its trusted KeySet from the JWKS and verifies the card.
func Example() {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := cardsign.NewSigner(priv, "2025-06")
	if err != nil {
		panic(err)
	}
	card := &a2av1.AgentCard{Name: "Example Agent", Version: "1.0"}
	signed, err := cardsign.Sign(card, signer)
	if err != nil {
		panic(err)
	}
	trusted := cardsign.NewKeySet()
	if err := trusted.Add(signer.KeyID(), signer.PublicKey()); err != nil {
		panic(err)
	}
	jwks, _ := trusted.JWKS()

	// Client side.
	wire, _ := protojson.Marshal(signed)
	var fetched a2av1.AgentCard
	if err := protojson.Unmarshal(wire, &fetched); err != nil {
		panic(err)
	}
	keys, err := cardsign.ParseJWKS(jwks)
	if err != nil {
		panic(err)
	}
	kid, err := cardsign.Verify(&fetched, keys)
	fmt.Println(kid, err)

	fetched.Name = "Evil Agent"
	_, err = cardsign.Verify(&fetched, keys)
	fmt.Println(errors.Is(err, cardsign.ErrInvalidSignature))
	// Output:
	// 2025-06 <nil>
	// true
}
