package workflow

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestTemplate evaluates the expression subset against a fixed input and
// two completed steps.
func TestTemplate(t *testing.T) {
	var input any
	if err := json.Unmarshal([]byte(`{
		"document": "the text",
		"a": {"b": {"c": 42}},
		"items": ["x", {"name": "second"}, 3],
		"odd key": {"}": "brace"},
		"flag": true,
		"nothing": null
	}`), &input); err != nil {
		t.Fatal(err)
	}
	sc := &scope{input: input, steps: map[string]*stepOutput{
		"extract": {status: StatusCompleted, taskID: "task-1", text: "extracted", hasData: true,
			data: map[string]any{"pages": []any{1.0, 2.0}, "meta": map[string]any{"lang": "en"}}},
		"plain": {status: StatusCompleted, taskID: "task-2", text: "plain text"},
	}}
	tests := []struct {
		name    string
		src     string
		want    any
		wantErr string
	}{
		{"literal", "no expressions here", "no expressions here", ""},
		{"dollar_is_literal", "costs $5 or $ {x}", "costs $5 or $ {x}", ""},
		{"escaped", "$${input} stays", "${input} stays", ""},
		{"whole_input", "${input.a}", map[string]any{"b": map[string]any{"c": 42.0}}, ""},
		{"nested_key", "${input.a.b.c}", 42.0, ""},
		{"spaces_inside", "${ input.a.b.c }", 42.0, ""},
		{"index", "${input.items[0]}", "x", ""},
		{"index_then_key", "${input.items[1].name}", "second", ""},
		{"quoted_key", `${input["odd key"]["}"]}`, "brace", ""},
		{"bool_keeps_type", "${input.flag}", true, ""},
		{"null_keeps_type", "${input.nothing}", nil, ""},
		{"mixed_renders_json", "n=${input.a.b.c} f=${input.flag} o=${input.a.b} z=${input.nothing}", `n=42 f=true o={"c":42} z=null`, ""},
		{"mixed_string", "doc: ${input.document}!", "doc: the text!", ""},
		{"output_text", "${steps.extract.output.text}", "extracted", ""},
		{"output_data", "${steps.extract.output.data}", map[string]any{"pages": []any{1.0, 2.0}, "meta": map[string]any{"lang": "en"}}, ""},
		{"output_data_path", "${steps.extract.output.data.pages[1]}", 2.0, ""},
		{"output_data_key", "${steps.extract.output.data.meta.lang}", "en", ""},
		{"task_id", "id=${steps.extract.task.id}", "id=task-1", ""},
		{"status", "${steps.plain.status}", "completed", ""},
		{"two_steps", "${steps.extract.output.text} + ${steps.plain.output.text}", "extracted + plain text", ""},

		{"missing_key", "${input.missing}", nil, `${input.missing}: input has no key "missing" (keys: a, document, flag, items, nothing, odd key)`},
		{"index_out_of_range", "${input.items[7]}", nil, `input.items has 3 items, no [7]`},
		{"key_on_list", "${input.items.name}", nil, `input.items is a list, not an object`},
		{"index_on_object", "${input.a[0]}", nil, `input.a is an object, not a list`},
		{"path_into_scalar", "${input.document.x}", nil, `input.document is a string, which has no .x`},
		{"no_data_part", "${steps.plain.output.data}", nil, `step "plain" produced no data part`},
		{"data_missing_key", "${steps.extract.output.data.nope}", nil, `steps.extract.output.data has no key "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := parseTemplate(tt.src)
			if err != nil {
				t.Fatalf("parse %q: %v", tt.src, err)
			}
			tpl.loc = location{field: "steps[0].input.text", step: "s"}
			got, err := tpl.eval(sc)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("eval %q = %v, %v; want error containing %q", tt.src, got, err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), `steps[0].input.text (step "s"): `) {
					t.Errorf("error %q does not name the field and step", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("eval %q: %v", tt.src, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("eval %q = %#v, want %#v", tt.src, got, tt.want)
			}
		})
	}
}

// TestParseTemplate_errors: malformed expressions are refused when parsed,
// with the expression quoted.
func TestParseTemplate_errors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"${", "unterminated expression"},
		{"${input", "unterminated expression"},
		{"${}", "empty expression"},
		{"${ }", "empty expression"},
		{"${output.x}", `unknown root "output"`},
		{"${input.}", "expected a name"},
		{"${input.a..b}", "expected a name"},
		{"${input.0}", "expected a name"},
		{"${input[x]}", "expected an index or a quoted key"},
		{"${input[-1]}", "expected an index or a quoted key"},
		{"${input[1}", "expected ]"},
		{`${input["a}`, "unterminated quoted key"},
		{"${input a}", `unexpected ' '`},
		{"${steps}", "a step id must follow steps."},
		{"${steps.a}", `unknown field of step "a"`},
		{"${steps.a.output}", `unknown field of step "a"`},
		{"${steps.a.output.text.x}", "a string has no fields"},
		{"${steps.a.task.id[0]}", "a string has no fields"},
		{"${steps.a.status.x}", "a string has no fields"},
		{"${steps.a.output.html}", `unknown field of step "a"`},
		{`${steps["a"].status}`, "a step id must follow steps."},
	}
	for _, tt := range tests {
		_, err := parseTemplate("x " + tt.src)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseTemplate(%q) = %v, want an error containing %q", tt.src, err, tt.want)
		}
	}
}
