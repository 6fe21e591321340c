package workflow_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/a2agrpc/a2agrpc/workflow"
)

// TestValidate_goDefinitions: definitions built in Go are checked the same
// way; their errors name the field and step, with no line.
func TestValidate_goDefinitions(t *testing.T) {
	step := func(id string, deps ...string) workflow.Step {
		return workflow.Step{ID: id, Target: workflow.Target{Agent: "http://agent"}, Input: workflow.Input{Text: "x"}, DependsOn: deps}
	}
	tests := []struct {
		name string
		def  *workflow.Definition
		want string // "" for valid
	}{
		{"valid", &workflow.Definition{Name: "ok", Steps: []workflow.Step{step("a"), step("b", "a")}}, ""},
		{"nil", nil, "no workflow definition"},
		{"cycle", &workflow.Definition{Name: "c", Steps: []workflow.Step{step("a", "b"), step("b", "a")}},
			`steps[0].depends_on (step "a"): dependency cycle: a -> b -> a`},
		{"two_cycles", &workflow.Definition{Name: "c", Steps: []workflow.Step{step("a", "b"), step("b", "a"), step("c", "d"), step("d", "c")}},
			"dependency cycle: a -> b -> a\nsteps[2].depends_on (step \"c\"): dependency cycle: c -> d -> c"},
		{"duplicate_dependency", &workflow.Definition{Name: "d", Steps: []workflow.Step{step("a"), step("b", "a", "a")}},
			`steps[1].depends_on[1] (step "b"): step "a" listed twice`},
		{"go_map_data_is_checked", &workflow.Definition{Name: "m", Steps: []workflow.Step{
			{ID: "a", Target: workflow.Target{Agent: "http://agent"}, Input: workflow.Input{Data: map[string]string{"k": "${steps.zz.output.text}"}}},
		}}, `steps[0].input.data.k (step "a"): ${steps.zz.output.text}: unknown step "zz"`},
		{"not_json_data", &workflow.Definition{Name: "m", Steps: []workflow.Step{
			{ID: "a", Target: workflow.Target{Agent: "http://agent"}, Input: workflow.Input{Data: map[string]any{"f": func() {}}}},
		}}, `steps[0].input.data.f (step "a"): func() is not a JSON value`},
		{"transitive_dependency_is_usable", &workflow.Definition{Name: "t", Steps: []workflow.Step{
			step("a"), step("b", "a"),
			{ID: "c", Target: workflow.Target{Agent: "http://agent"}, DependsOn: []string{"b"}, Input: workflow.Input{Text: "${steps.a.output.text}"}},
		}}, ""},
		{"own_output", &workflow.Definition{Name: "o", Steps: []workflow.Step{
			{ID: "a", Target: workflow.Target{Agent: "http://agent"}, Input: workflow.Input{Text: "${steps.a.status}"}},
		}}, `a step cannot use its own output`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.def.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var we *workflow.Error
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.As(err, &we) || we.Line != 0 {
				t.Errorf("Validate = %v, want an error containing %q and no line", err, tt.want)
			}
		})
	}
}
