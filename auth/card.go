package auth

import (
	"google.golang.org/protobuf/proto"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// SecuritySchemes describes what [Authenticator.Authenticate] enforces in
// the Agent Card's terms, so that the card never promises something else
// than the server checks: a scheme per configured mechanism, and the
// requirements as alternatives (any one entry suffices; every scheme of an
// entry is needed).
func (a *Authenticator) SecuritySchemes() (map[string]*a2av1.SecurityScheme, []*a2av1.SecurityRequirement) {
	schemes := map[string]*a2av1.SecurityScheme{}
	var tokens []string
	if a.cfg.Peers != nil {
		schemes[SchemeMTLS] = &a2av1.SecurityScheme{Scheme: &a2av1.SecurityScheme_MtlsSecurityScheme{
			MtlsSecurityScheme: &a2av1.MutualTlsSecurityScheme{
				Description: "Client certificate issued by the agent mesh's CA; the identity is the SPIFFE URI SAN, else the DNS SAN, else the CN.",
			},
		}}
	}
	if a.cfg.Bearer != nil {
		schemes[SchemeBearer] = &a2av1.SecurityScheme{Scheme: &a2av1.SecurityScheme_HttpAuthSecurityScheme{
			HttpAuthSecurityScheme: &a2av1.HTTPAuthSecurityScheme{Scheme: "Bearer", BearerFormat: "JWT"},
		}}
		tokens = append(tokens, SchemeBearer)
	}
	if a.cfg.APIKeys != nil {
		schemes[SchemeAPIKey] = &a2av1.SecurityScheme{Scheme: &a2av1.SecurityScheme_ApiKeySecurityScheme{
			ApiKeySecurityScheme: &a2av1.APIKeySecurityScheme{Location: "header", Name: a.cfg.APIKeyHeader},
		}}
		tokens = append(tokens, SchemeAPIKey)
	}
	requirement := func(names ...string) *a2av1.SecurityRequirement {
		r := &a2av1.SecurityRequirement{Schemes: map[string]*a2av1.StringList{}}
		for _, n := range names {
			r.Schemes[n] = &a2av1.StringList{}
		}
		return r
	}
	var reqs []*a2av1.SecurityRequirement
	switch {
	case a.cfg.Peers != nil && len(tokens) > 0 && !a.cfg.AnyOf:
		for _, t := range tokens {
			reqs = append(reqs, requirement(SchemeMTLS, t))
		}
	default:
		if a.cfg.Peers != nil {
			reqs = append(reqs, requirement(SchemeMTLS))
		}
		for _, t := range tokens {
			reqs = append(reqs, requirement(t))
		}
	}
	return schemes, reqs
}

// Card returns a copy of card whose securitySchemes and
// securityRequirements are those of a (replacing any the card had).
func (a *Authenticator) Card(card *a2av1.AgentCard) *a2av1.AgentCard {
	out := proto.Clone(card).(*a2av1.AgentCard)
	out.SecuritySchemes, out.SecurityRequirements = a.SecuritySchemes()
	return out
}
