package server_test

import (
	"iter"

	"github.com/a2agrpc/a2agrpc/server"
)

func iterPull2(seq func(func(server.Event, error) bool)) (func() (server.Event, error, bool), func()) {
	return iter.Pull2(iter.Seq2[server.Event, error](seq))
}
