// Command a2agrpcdescriptor writes the FileDescriptorProto of a2agrpc's
// generated lf/a2a/v1/a2a.proto to stdout, in the protobuf binary form.
//
// It exists so that the interop suite can compare our schema with a2a-go's
// copy of it (a2apb/v1) field by field without ever linking both into one
// program: they register the same lf.a2a.v1 names, and protobuf-go panics
// at init on the conflict. The test runs this binary and compares its output
// with a2a-go's descriptor in its own process.
package main

import (
	"log"
	"os"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

func main() {
	raw, err := proto.Marshal(protodesc.ToFileDescriptorProto(a2av1.File_lf_a2a_v1_a2a_proto))
	if err != nil {
		log.Fatal("a2agrpcdescriptor: ", err)
	}
	if _, err := os.Stdout.Write(raw); err != nil {
		log.Fatal("a2agrpcdescriptor: ", err)
	}
}
