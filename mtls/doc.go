// Package mtls is the mutual-TLS layer of the agent mesh: it loads an
// agent's certificate, key and CA bundle from PEM files and keeps them
// current while the process runs ([Reloader]), builds the server and client
// tls.Configs that use them ([ServerConfig], [ServerConfigStrict],
// [ClientConfig]), verifies a caller's certificate chain ([Reloader.VerifyPeer]),
// names the caller ([Identity]) and decides whether that name may call
// ([AllowList]).
//
// Certificates rotate often in a mesh (short-lived SPIFFE SVIDs, cert-manager
// renewals), so nothing here copies material into a tls.Config: every
// handshake asks the Reloader for the current certificate and CA pool.
package mtls
