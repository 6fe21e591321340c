package workflow_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/a2agrpc/a2agrpc/workflow"
)

// TestLoad_sample reads the documented sample and checks every kind of
// field came through.
func TestLoad_sample(t *testing.T) {
	def, err := workflow.Load("testdata/document-pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if def.Name != "document-pipeline" || len(def.Steps) != 4 {
		t.Fatalf("name %q, %d steps", def.Name, len(def.Steps))
	}
	extract, sentiment, summarize, report := def.Steps[0], def.Steps[1], def.Steps[2], def.Steps[3]
	if extract.Target.Capability.GetSkillId() != "extract-text" || extract.Target.Agent != "" {
		t.Errorf("extract target = %v", extract.Target)
	}
	if data, ok := extract.Input.Data.(map[string]any); !ok || data["language"] != "${input.language}" {
		t.Errorf("extract data = %#v", extract.Input.Data)
	}
	if sentiment.Target.Capability.GetOutputMode() != "text/plain" || sentiment.Timeout != 30*time.Second ||
		sentiment.Retry != (workflow.RetryPolicy{MaxAttempts: 3, Backoff: time.Second}) {
		t.Errorf("sentiment = %+v", sentiment)
	}
	if summarize.Target.Agent != "http://127.0.0.1:8080" || !strings.HasPrefix(summarize.Input.Text, "Summarize task ${steps.extract.task.id}") {
		t.Errorf("summarize = %+v", summarize)
	}
	if strings.Join(report.DependsOn, ",") != "sentiment,summarize" || strings.Join(report.Input.FilesFrom, ",") != "extract" {
		t.Errorf("report = %+v", report)
	}
	if len(def.Output) != 3 || def.Output["report"] != "${steps.report.output.data}" {
		t.Errorf("output = %v", def.Output)
	}
}

// TestLoad_errors: each bad file is refused with an error naming the
// file, the line (and column) and the field at fault.
func TestLoad_errors(t *testing.T) {
	const head = "name: flow\nsteps:\n"
	tests := []struct {
		name string
		yaml string
		line int    // of the first error
		want string // in the first error, after "file:line:"
	}{
		{"missing_id", head + "  - agent: http://a\n    input: hi\n",
			3, `steps[0].id: missing id`},
		{"duplicate_id", head + "  - {id: a, agent: http://a, input: hi}\n  - id: a\n    agent: http://a\n    input: hi\n",
			4, `steps[1].id (step "a"): duplicate id "a" (also steps[0])`},
		{"bad_id", head + "  - {id: 1st, agent: http://a, input: hi}\n",
			3, `steps[0].id (step "1st"): id "1st" is not usable`},
		{"unknown_dependency", head + "  - {id: summarize, agent: http://a, input: hi}\n  - id: report\n    agent: http://a\n    depends_on: [sumarize]\n    input: hi\n",
			6, `steps[1].depends_on[0] (step "report"): unknown step "sumarize" (did you mean "summarize"?)`},
		{"self_dependency", head + "  - {id: a, agent: http://a, input: hi, depends_on: [a]}\n",
			3, `steps[0].depends_on[0] (step "a"): a step cannot depend on itself`},
		{"cycle", head + "  - {id: a, agent: http://a, input: hi, depends_on: [c]}\n  - {id: b, agent: http://a, input: hi, depends_on: [a]}\n  - {id: c, agent: http://a, input: hi, depends_on: [b]}\n",
			3, `steps[0].depends_on (step "a"): dependency cycle: a -> c -> b -> a`},
		{"bad_expression", head + "  - id: a\n    agent: http://a\n    input: {text: \"x ${input.a..b}\"}\n",
			5, `steps[0].input.text (step "a"): ${input.a..b}: expected a name`},
		{"unknown_step_field", head + "  - id: a\n    agent: http://a\n    input: \"${steps.a.outptu.text}\"\n",
			5, `steps[0].input.text (step "a"): ${steps.a.outptu.text}: unknown field of step "a"`},
		{"unterminated_expression", head + "  - id: a\n    agent: http://a\n    input: \"${input.a\"\n",
			5, `steps[0].input.text (step "a"): unterminated expression`},
		{"not_a_dependency", head + "  - {id: a, agent: http://a, input: hi}\n  - id: b\n    agent: http://a\n    input:\n      data: {x: [1, \"${steps.a.output.text}\"]}\n",
			7, `steps[1].input.data.x[1] (step "b"): ${steps.a.output.text}: step "a" is not a dependency of step "b" (add it to depends_on)`},
		{"files_from_not_a_dependency", head + "  - {id: a, agent: http://a, input: hi}\n  - {id: b, agent: http://a, input: {files_from: [a]}}\n",
			4, `steps[1].input.files_from[0] (step "b"): step "a" is not a dependency`},
		{"both_targets", head + "  - id: a\n    capability: {skill_id: s}\n    agent: http://a\n    input: hi\n",
			5, `steps[0].agent (step "a"): both agent and capability given`},
		{"no_target", head + "  - id: a\n    input: hi\n",
			3, `steps[0] (step "a"): no target`},
		{"bad_agent_url", head + "  - {id: a, agent: \"localhost:8080\", input: hi}\n",
			3, `steps[0].agent (step "a"): agent "localhost:8080" is not an http(s) URL`},
		{"empty_capability", head + "  - {id: a, capability: {include_unhealthy: true}, input: hi}\n",
			3, `steps[0].capability (step "a"): empty filter`},
		{"empty_input", head + "  - {id: a, agent: http://a}\n",
			3, `steps[0].input (step "a"): empty`},
		{"unknown_field", head + "  - id: a\n    agent: http://a\n    inptu: hi\n",
			5, `steps[0].inptu: unknown field "inptu" (known: agent, capability, depends_on, id, input, retry, timeout)`},
		{"unknown_filter_field", head + "  - id: a\n    capability: {skill: x}\n    input: hi\n",
			4, `steps[0].capability.skill: unknown field "skill"`},
		{"repeated_field", head + "  - id: a\n    id: b\n",
			4, `steps[0].id: field "id" given twice`},
		{"wrong_type_list", head + "  - id: a\n    agent: http://a\n    depends_on: extract\n    input: hi\n",
			5, `steps[0].depends_on: expected a list, got a string`},
		{"wrong_type_int", head + "  - id: a\n    agent: http://a\n    input: hi\n    retry: {max_attempts: three}\n",
			6, `steps[0].retry.max_attempts: expected an integer, got a string`},
		{"wrong_type_steps", "name: flow\nsteps: {id: a}\n",
			2, `steps: expected a list, got a mapping`},
		{"wrong_type_text", head + "  - id: a\n    agent: http://a\n    input: {text: [a, b]}\n",
			5, `steps[0].input.text: expected a string, got a list`},
		{"bad_duration", head + "  - id: a\n    agent: http://a\n    input: hi\n    timeout: 30\n",
			6, `steps[0].timeout: bad duration "30"`},
		{"bad_backoff", head + "  - id: a\n    agent: http://a\n    input: hi\n    retry: {max_attempts: 2, backoff: soon}\n",
			6, `steps[0].retry.backoff: bad duration "soon"`},
		{"negative_timeout", head + "  - id: a\n    agent: http://a\n    input: hi\n    timeout: -1s\n",
			6, `steps[0].timeout (step "a"): negative timeout -1s`},
		{"too_many_attempts", head + "  - id: a\n    agent: http://a\n    input: hi\n    retry: {max_attempts: 1000}\n",
			6, `steps[0].retry.max_attempts (step "a"): max_attempts 1000 out of range`},
		{"output_unknown_step", head + "  - {id: a, agent: http://a, input: hi}\noutput:\n  x: \"${steps.b.output.text}\"\n",
			5, `output.x: ${steps.b.output.text}: unknown step "b"`},
		{"output_wrong_type", head + "  - {id: a, agent: http://a, input: hi}\noutput: [a]\n",
			4, `output: expected a mapping`},
		{"missing_name", "steps:\n  - {id: a, agent: http://a, input: hi}\n",
			1, `name: missing`},
		{"no_steps", "name: flow\nsteps: []\n",
			2, `steps: no steps`},
		{"alias", head + "  - &s {id: a, agent: http://a, input: hi}\n  - *s\n",
			4, `steps[1]: YAML aliases are not supported`},
		{"duplicate_data_key", head + "  - id: a\n    agent: http://a\n    input:\n      data: {k: 1, k: 2}\n",
			6, `steps[0].input.data.k: key "k" given twice`},
		{"syntax", "name: flow\nsteps: [\n",
			2, `YAML: did not find expected node content`},
		{"not_a_mapping", "- a\n- b\n",
			1, `expected a mapping, got a list`},
		{"second_document", head + "  - {id: a, agent: http://a, input: hi}\n---\nname: other\n",
			4, `a second YAML document`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "flow.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := workflow.Load(path)
			var we *workflow.Error
			if !errors.As(err, &we) {
				t.Fatalf("Load = %v, want a *workflow.Error", err)
			}
			if we.File != path || we.Line != tt.line {
				t.Errorf("error at %s:%d, want %s:%d (%v)", we.File, we.Line, path, tt.line, err)
			}
			first := strings.SplitN(err.Error(), "\n", 2)[0]
			if !strings.HasPrefix(first, path+":") || !strings.Contains(first, tt.want) {
				t.Errorf("error:\n  %s\nwant it to contain:\n  %s", first, tt.want)
			}
		})
	}
}

// TestParse_allErrors: validation reports every problem, in file order,
// not just the first.
func TestParse_allErrors(t *testing.T) {
	_, err := workflow.Parse([]byte("name: flow\nsteps:\n  - {id: a, agent: http://a, input: hi, depends_on: [x]}\n  - {id: b, input: hi}\n"))
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "line 3:") || !strings.HasPrefix(lines[1], "line 4:") {
		t.Errorf("errors:\n%s", err)
	}
}

// TestParse_inputShapes covers the short form of input and null values.
func TestParse_inputShapes(t *testing.T) {
	def, err := workflow.Parse([]byte(`
name: flow
steps:
  - id: a
    agent: https://agent.example.com/base
    input: "hello ${input.name}"
    depends_on:
    retry:
  - id: b
    agent: http://a
    depends_on: [a]
    input:
      data: {n: 3, ok: true, none: null, list: [1.5, "x"], ref: "${steps.a.output.data}"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if def.Steps[0].Input.Text != "hello ${input.name}" || def.Steps[0].DependsOn != nil {
		t.Errorf("step a = %+v", def.Steps[0])
	}
	data := def.Steps[1].Input.Data.(map[string]any)
	if data["n"] != 3.0 || data["ok"] != true || data["none"] != nil || data["list"].([]any)[0] != 1.5 {
		t.Errorf("data = %#v", data)
	}
}
