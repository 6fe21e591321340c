package a2agrpc_test

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
)

// wireTable is the checked-in list of wire facts of the published A2A schema.
// It was produced from the upstream specification/a2a.proto, never from our
// own file, so the comparison is between two independent sources.
const wireTable = "testdata/wire/a2a-v1.0.1.txt"

// upstream regenerates wireTable from a descriptor set of the upstream schema:
//
//	buf build <dir with upstream a2a.proto and googleapis> -o a2a.binpb
//	go test -run TestWireCompatibility -args -upstream=a2a.binpb
var upstream = flag.String("upstream", "", "descriptor set of the upstream A2A schema; rewrites "+wireTable)

// TestWireCompatibility fails when any name, number, JSON name, type, label,
// oneof, enum value, RPC or HTTP route of our schema drifts from the spec.
func TestWireCompatibility(t *testing.T) {
	if *upstream != "" {
		writeUpstreamTable(t, *upstream)
	}
	raw, err := os.ReadFile(wireTable)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	got := wireFacts(a2av1.File_lf_a2a_v1_a2a_proto)
	if d := diffFacts(want, got); d != "" {
		t.Fatalf("schema differs from the published A2A v1.0 schema (-spec +ours):\n%s", d)
	}
	// Coverage: every message, enum and RPC of the file appears in the table.
	fd := a2av1.File_lf_a2a_v1_a2a_proto
	for i := range fd.Messages().Len() {
		requireFact(t, want, "message "+string(fd.Messages().Get(i).FullName()))
	}
	for i := range fd.Enums().Len() {
		requireFact(t, want, "enum "+string(fd.Enums().Get(i).FullName()))
	}
	for i := range fd.Services().Get(0).Methods().Len() {
		m := fd.Services().Get(0).Methods().Get(i)
		requireFact(t, want, fmt.Sprintf("rpc /%s/%s", m.Parent().FullName(), m.Name()))
	}
	if n := fd.Messages().Len(); n != 44 {
		t.Errorf("schema has %d top-level messages, the spec has 44", n)
	}
}

// TestWireCompatibility_detectsDrift proves the comparison is sharp: each
// single-point mutation of our descriptor must be reported.
func TestWireCompatibility_detectsDrift(t *testing.T) {
	base := wireFacts(a2av1.File_lf_a2a_v1_a2a_proto)
	field := func(fdp *descriptorpb.FileDescriptorProto, msg, name string) *descriptorpb.FieldDescriptorProto {
		for _, m := range fdp.MessageType {
			if m.GetName() == msg {
				for _, f := range m.Field {
					if f.GetName() == name {
						return f
					}
				}
			}
		}
		t.Fatalf("no field %s.%s", msg, name)
		return nil
	}
	tests := []struct {
		name   string
		mutate func(*descriptorpb.FileDescriptorProto)
	}{
		{"field_number", func(f *descriptorpb.FileDescriptorProto) { field(f, "Task", "history").Number = proto.Int32(15) }},
		{"field_name", func(f *descriptorpb.FileDescriptorProto) {
			fl := field(f, "Message", "task_id")
			fl.Name, fl.JsonName = proto.String("taskid"), proto.String("taskid")
		}},
		{"json_name", func(f *descriptorpb.FileDescriptorProto) {
			field(f, "Part", "media_type").JsonName = proto.String("media_type")
		}},
		{"field_type", func(f *descriptorpb.FileDescriptorProto) {
			field(f, "ListTasksResponse", "page_size").Type = descriptorpb.FieldDescriptorProto_TYPE_INT64.Enum()
		}},
		{"label", func(f *descriptorpb.FileDescriptorProto) {
			field(f, "Message", "extensions").Label = descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
		}},
		{"required_behaviour", func(f *descriptorpb.FileDescriptorProto) {
			field(f, "Artifact", "parts").Options = nil
		}},
		{"enum_value", func(f *descriptorpb.FileDescriptorProto) {
			f.EnumType[0].Value[5].Number = proto.Int32(9)
		}},
		{"rpc_streaming", func(f *descriptorpb.FileDescriptorProto) {
			f.Service[0].Method[0].ServerStreaming = proto.Bool(true)
		}},
		{"http_route", func(f *descriptorpb.FileDescriptorProto) {
			m := f.Service[0].Method[2]
			rule := proto.GetExtension(m.Options, annotations.E_Http).(*annotations.HttpRule)
			rule.Pattern = &annotations.HttpRule_Get{Get: "/v1/tasks/{id=*}"}
			proto.SetExtension(m.Options, annotations.E_Http, rule)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fdp := protodesc.ToFileDescriptorProto(a2av1.File_lf_a2a_v1_a2a_proto)
			tt.mutate(fdp)
			fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffFacts(base, wireFacts(fd)); d == "" {
				t.Fatal("mutation went unnoticed")
			}
		})
	}
}

func requireFact(t *testing.T, facts []string, prefix string) {
	t.Helper()
	for _, f := range facts {
		if f == prefix || strings.HasPrefix(f, prefix+" ") {
			return
		}
	}
	t.Errorf("wire table has no entry for %q", prefix)
}

// wireFacts flattens everything about a schema file that peers can observe
// on the wire (binary, ProtoJSON, gRPC paths, REST routes) into sorted lines.
// Comments, go_package and source positions are deliberately left out.
func wireFacts(fd protoreflect.FileDescriptor) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	add("file package=%s syntax=%s", fd.Package(), fd.Syntax())
	for i := range fd.Imports().Len() {
		add("file import %s", fd.Imports().Get(i).Path())
	}
	var message func(md protoreflect.MessageDescriptor)
	message = func(md protoreflect.MessageDescriptor) {
		add("message %s", md.FullName())
		for i := range md.Fields().Len() {
			add("field %s", fieldFact(md.Fields().Get(i)))
		}
		for i := range md.Oneofs().Len() {
			o := md.Oneofs().Get(i)
			if o.IsSynthetic() {
				continue
			}
			var members []string
			for j := range o.Fields().Len() {
				members = append(members, string(o.Fields().Get(j).Name()))
			}
			add("oneof %s {%s}", o.FullName(), strings.Join(members, ","))
		}
		for i := range md.Messages().Len() {
			message(md.Messages().Get(i))
		}
		for i := range md.Enums().Len() {
			enum(md.Enums().Get(i), add)
		}
	}
	for i := range fd.Messages().Len() {
		message(fd.Messages().Get(i))
	}
	for i := range fd.Enums().Len() {
		enum(fd.Enums().Get(i), add)
	}
	for i := range fd.Services().Len() {
		s := fd.Services().Get(i)
		add("service %s", s.FullName())
		for j := range s.Methods().Len() {
			m := s.Methods().Get(j)
			path := fmt.Sprintf("/%s/%s", s.FullName(), m.Name())
			add("rpc %s in=%s out=%s client_stream=%t server_stream=%t", path,
				m.Input().FullName(), m.Output().FullName(), m.IsStreamingClient(), m.IsStreamingServer())
			opts := m.Options().(*descriptorpb.MethodOptions)
			if rule, ok := proto.GetExtension(opts, annotations.E_Http).(*annotations.HttpRule); ok && rule != nil {
				for k, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
					verb, route := httpPattern(r)
					add("rpc %s http[%d] %s %s body=%q", path, k, verb, route, r.GetBody())
				}
			}
			for _, sig := range proto.GetExtension(opts, annotations.E_MethodSignature).([]string) {
				add("rpc %s method_signature=%q", path, sig)
			}
		}
	}
	slices.Sort(out)
	return out
}

func enum(ed protoreflect.EnumDescriptor, add func(string, ...any)) {
	add("enum %s", ed.FullName())
	for i := range ed.Values().Len() {
		v := ed.Values().Get(i)
		add("enum %s value %s=%d", ed.FullName(), v.Name(), v.Number())
	}
}

func fieldFact(f protoreflect.FieldDescriptor) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s #%d json=%s %s %s", f.FullName(), f.Number(), f.JSONName(), f.Cardinality(), f.Kind())
	switch {
	case f.IsMap():
		fmt.Fprintf(&b, " map<%s,%s>", f.MapKey().Kind(), typeName(f.MapValue()))
	case f.Message() != nil || f.Enum() != nil:
		fmt.Fprintf(&b, " type=%s", typeName(f))
	}
	if f.HasPresence() {
		b.WriteString(" presence")
	}
	if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() {
		fmt.Fprintf(&b, " oneof=%s", o.Name())
	}
	if f.HasOptionalKeyword() {
		b.WriteString(" proto3_optional")
	}
	opts := f.Options().(*descriptorpb.FieldOptions)
	if opts.GetDeprecated() {
		b.WriteString(" deprecated")
	}
	for _, fb := range proto.GetExtension(opts, annotations.E_FieldBehavior).([]annotations.FieldBehavior) {
		fmt.Fprintf(&b, " %s", fb)
	}
	return b.String()
}

func typeName(f protoreflect.FieldDescriptor) string {
	switch {
	case f.Message() != nil:
		return string(f.Message().FullName())
	case f.Enum() != nil:
		return string(f.Enum().FullName())
	}
	return f.Kind().String()
}

func httpPattern(r *annotations.HttpRule) (verb, path string) {
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return "GET", p.Get
	case *annotations.HttpRule_Post:
		return "POST", p.Post
	case *annotations.HttpRule_Put:
		return "PUT", p.Put
	case *annotations.HttpRule_Delete:
		return "DELETE", p.Delete
	case *annotations.HttpRule_Patch:
		return "PATCH", p.Patch
	case *annotations.HttpRule_Custom:
		return p.Custom.GetKind(), p.Custom.GetPath()
	}
	return "NONE", ""
}

// diffFacts lists facts only in want ("-") or only in got ("+").
func diffFacts(want, got []string) string {
	var b strings.Builder
	for _, w := range want {
		if !slices.Contains(got, w) {
			fmt.Fprintf(&b, "- %s\n", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			fmt.Fprintf(&b, "+ %s\n", g)
		}
	}
	return b.String()
}

// writeUpstreamTable loads the upstream descriptor set into a private
// registry (its names clash with our generated package in the global one) and
// writes its facts to wireTable.
func writeUpstreamTable(t *testing.T, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := files.FindFileByPath("lf/a2a/v1/a2a.proto")
	if err != nil {
		t.Fatal(err)
	}
	facts := wireFacts(fd)
	if err := os.WriteFile(wireTable, []byte(strings.Join(facts, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d facts to %s", len(facts), wireTable)
}
