package a2agrpc

import (
	_ "embed"
	"slices"
)

//go:embed gen/lf/a2a/v1/a2a.swagger.json
var openAPI []byte

// OpenAPIv2 returns the OpenAPI (Swagger 2.0) document of the HTTP+JSON
// binding, generated from the schema by protoc-gen-openapiv2 (it includes
// the POST form of :subscribe). Streaming routes are described as plain
// responses; they are served as Server-Sent Events.
func OpenAPIv2() []byte { return slices.Clone(openAPI) }
