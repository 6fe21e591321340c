package a2agrpc

// ProtocolVersion is the A2A version this module speaks, in the Major.Minor
// form used on the wire (A2A-Version header, AgentInterface.protocol_version).
const ProtocolVersion = "1.0"

// ErrorDomain is the google.rpc.ErrorInfo domain of every error this module
// sends, as the A2A specification requires.
const ErrorDomain = "a2a-protocol.org"

// Service parameters: HTTP header names and their gRPC metadata keys (gRPC
// metadata keys are lowercase).
const (
	HeaderVersion      = "A2A-Version"
	HeaderExtensions   = "A2A-Extensions"
	MetadataVersion    = "a2a-version"
	MetadataExtensions = "a2a-extensions"
)

// MetaCredentialEnded is the ErrorInfo metadata key set on the
// UNAUTHENTICATED error that ends a call or stream because the credential
// that opened it stopped being valid while it ran ("expired" or "revoked"),
// as opposed to credentials refused at the start. A client that can get a
// fresh credential (a token source) reconnects and resumes the stream.
const MetaCredentialEnded = "credentialEnded"

// Binding names as they appear in AgentInterface.protocol_binding.
const (
	BindingGRPC    = "GRPC"
	BindingJSONRPC = "JSONRPC"
	BindingREST    = "HTTP+JSON"
)

// Media types of the HTTP bindings.
const (
	MediaTypeA2AJSON     = "application/a2a+json"
	MediaTypeJSON        = "application/json"
	MediaTypeEventStream = "text/event-stream"
)

// MeshExtensionURI identifies the a2agrpc mesh stream (one bidirectional
// gRPC stream multiplexing A2A operations) among an Agent Card's
// capabilities.extensions. Standard clients ignore it; this module's client
// prefers it when an agent advertises it next to a gRPC interface.
const MeshExtensionURI = "https://a2agrpc.dev/ext/mesh/v1"
