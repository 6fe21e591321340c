package interop

import (
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"

	a2apb "github.com/a2aproject/a2a-go/v2/a2apb/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
)

// TestDescriptor compares our lf.a2a.v1 schema with a2a-go's copy of it
// (a2apb/v1), element by element: package and syntax; every message with
// its oneofs, reserved ranges and options; every field's number, label,
// kind, type name, JSON name, oneof, proto3-optional presence and options
// (google.api.field_behavior); every enum and value; every method's input,
// output, streaming and options (google.api.http, which is the HTTP+JSON
// binding, and google.api.method_signature).
//
// Our descriptor comes from cmd/a2agrpcdescriptor, run as a separate
// process: the two generated packages register the same names and cannot
// be linked together.
//
// Left out, because they are each generator's own and not part of the wire
// contract: the file name (ours "lf/a2a/v1/a2a.proto", a2a-go's
// "a2av1.proto"), the import list (every type it brings in is compared
// through the type names of the fields that use it), and all file options
// (go_package and the other languages' package and class names, which
// a2a-go's buf managed mode rewrites).
//
// Every element is one check through outcome, named "descriptor: <kind>
// <full name>", for peer "a2a-go" on GRPC: the descriptor is what puts
// bytes on the gRPC wire (and its JSON names on the other two bindings).
func TestDescriptor(t *testing.T) {
	out, err := exec.Command(binary(t, "a2agrpcdescriptor")).Output()
	if err != nil {
		t.Fatalf("a2agrpcdescriptor: %v", err)
	}
	var ours descriptorpb.FileDescriptorProto
	if err := proto.Unmarshal(out, &ours); err != nil {
		t.Fatal(err)
	}
	theirs := protodesc.ToFileDescriptorProto(a2apb.File_a2av1_proto)
	o, a := descriptorFacts(&ours), descriptorFacts(theirs)
	if len(o) < 100 {
		t.Fatalf("our descriptor yields only %d elements: %v", len(o), o)
	}
	all := maps.Clone(o)
	maps.Copy(all, a)
	keys := slices.Sorted(maps.Keys(all))
	same := 0
	for _, k := range keys {
		ov, inOurs := o[k]
		av, inTheirs := a[k]
		var diff error
		switch {
		case !inTheirs:
			diff = fmt.Errorf("only in ours: %s", ov)
		case !inOurs:
			diff = fmt.Errorf("only in a2a-go's: %s", av)
		case ov != av:
			diff = fmt.Errorf("ours: %s\n\ta2a-go's: %s", ov, av)
		default:
			same++
		}
		outcome(t, "a2a-go", "GRPC", "descriptor: "+k, diff)
	}
	t.Logf("%d of %d schema elements identical", same, len(keys))
}

// descriptorFacts describes every element of a schema file as one line,
// keyed by kind and full name.
func descriptorFacts(fd *descriptorpb.FileDescriptorProto) map[string]string {
	facts := map[string]string{
		"package": fd.GetPackage(),
		"syntax":  fd.GetSyntax(),
	}
	pkg := fd.GetPackage()
	for _, m := range fd.GetMessageType() {
		messageFacts(facts, pkg, m)
	}
	for _, e := range fd.GetEnumType() {
		enumFacts(facts, pkg, e)
	}
	for _, x := range fd.GetExtension() {
		facts["extension "+pkg+"."+x.GetName()] = fieldFact(x, nil)
	}
	for _, s := range fd.GetService() {
		name := pkg + "." + s.GetName()
		facts["service "+name] = "options=" + options(s.GetOptions())
		for _, m := range s.GetMethod() {
			facts["method "+name+"."+m.GetName()] = fmt.Sprintf("input=%s output=%s client_streaming=%t server_streaming=%t options=%s",
				m.GetInputType(), m.GetOutputType(), m.GetClientStreaming(), m.GetServerStreaming(), options(m.GetOptions()))
		}
	}
	return facts
}

func messageFacts(facts map[string]string, scope string, m *descriptorpb.DescriptorProto) {
	name := scope + "." + m.GetName()
	var oneofs, reserved []string
	for _, o := range m.GetOneofDecl() {
		oneofs = append(oneofs, o.GetName())
	}
	for _, r := range m.GetReservedRange() {
		reserved = append(reserved, fmt.Sprintf("%d-%d", r.GetStart(), r.GetEnd()))
	}
	reserved = append(reserved, m.GetReservedName()...)
	facts["message "+name] = fmt.Sprintf("oneofs=%v reserved=%v extension_ranges=%d options=%s",
		oneofs, reserved, len(m.GetExtensionRange()), options(m.GetOptions()))
	for _, f := range m.GetField() {
		facts["field "+name+"."+f.GetName()] = fieldFact(f, m.GetOneofDecl())
	}
	for _, x := range m.GetExtension() {
		facts["extension "+name+"."+x.GetName()] = fieldFact(x, nil)
	}
	for _, n := range m.GetNestedType() {
		messageFacts(facts, name, n)
	}
	for _, e := range m.GetEnumType() {
		enumFacts(facts, name, e)
	}
}

func fieldFact(f *descriptorpb.FieldDescriptorProto, oneofs []*descriptorpb.OneofDescriptorProto) string {
	oneof := "-"
	if f.OneofIndex != nil {
		oneof = oneofs[f.GetOneofIndex()].GetName()
	}
	return fmt.Sprintf("number=%d label=%s type=%s type_name=%q json_name=%q oneof=%s proto3_optional=%t default=%q extendee=%q options=%s",
		f.GetNumber(), f.GetLabel(), f.GetType(), f.GetTypeName(), f.GetJsonName(), oneof, f.GetProto3Optional(),
		f.GetDefaultValue(), f.GetExtendee(), options(f.GetOptions()))
}

func enumFacts(facts map[string]string, scope string, e *descriptorpb.EnumDescriptorProto) {
	name := scope + "." + e.GetName()
	var reserved []string
	for _, r := range e.GetReservedRange() {
		reserved = append(reserved, fmt.Sprintf("%d-%d", r.GetStart(), r.GetEnd()))
	}
	reserved = append(reserved, e.GetReservedName()...)
	facts["enum "+name] = fmt.Sprintf("values=%d reserved=%v options=%s", len(e.GetValue()), reserved, options(e.GetOptions()))
	for _, v := range e.GetValue() {
		// Enum values are scoped like their enum's siblings; the key keeps
		// the enum's name for readability.
		facts["enum value "+name+"."+v.GetName()] = fmt.Sprintf("number=%d options=%s", v.GetNumber(), options(v.GetOptions()))
	}
}

// options renders options (with extensions such as google.api.http) in
// text form on one line; both descriptors are rendered by this process, so
// the text is comparable.
func options(m proto.Message) string {
	if m == nil || !m.ProtoReflect().IsValid() {
		return "{}"
	}
	s := prototext.MarshalOptions{}.Format(m)
	return "{" + strings.Join(strings.Fields(s), " ") + "}"
}
