package grpcserver_test

import "io"

var ioEOF = io.EOF
