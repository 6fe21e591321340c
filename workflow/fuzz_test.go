package workflow_test

import (
	"errors"
	"os"
	"testing"

	"github.com/a2agrpc/a2agrpc/workflow"
)

// FuzzParse: no input makes Parse panic, and every failure is reported as
// *workflow.Error values.
func FuzzParse(f *testing.F) {
	sample, err := os.ReadFile("testdata/document-pipeline.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add([]byte("name: x\nsteps:\n  - {id: a, agent: http://a, input: \"${input.a[0][\\\"k\\\"]}\"}\n"))
	f.Add([]byte("name: x\nsteps:\n  - {id: a, agent: http://a, input: {data: {k: [1, {z: \"${steps.b.output.data.x}\"}]}}, depends_on: [b]}\n  - {id: b, capability: {tag: t}, input: hi, depends_on: [a]}\n"))
	f.Add([]byte("- &a [*a]\n"))
	f.Add([]byte("name: x\nsteps: [&s {id: a}, *s]\noutput: {o: \"$${x} ${input}\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		def, err := workflow.Parse(data)
		if err != nil {
			var we *workflow.Error
			if !errors.As(err, &we) {
				t.Fatalf("Parse error %v (%T) is not a *workflow.Error", err, err)
			}
			return
		}
		if err := def.Validate(); err != nil {
			t.Fatalf("Parse accepted a definition that Validate refuses: %v", err)
		}
	})
}
