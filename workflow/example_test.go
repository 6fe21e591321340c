package workflow_test

import (
	"fmt"

	"github.com/a2agrpc/a2agrpc/workflow"
)

// Parse reports every problem of a definition, each with its line, column,
// field and step.
func ExampleParse() {
	_, err := workflow.Parse([]byte(`
name: demo
steps:
  - id: summarize
    agent: http://127.0.0.1:8080
    input: "${input.document}"
  - id: report
    agent: http://127.0.0.1:8081
    depends_on: [sumarize]
    input: "Summary: ${steps.summarize.output.text}"
`))
	fmt.Println(err)
	// Output:
	// line 9:18: steps[1].depends_on[0] (step "report"): unknown step "sumarize" (did you mean "summarize"?)
	// line 10:12: steps[1].input.text (step "report"): ${steps.summarize.output.text}: step "summarize" is not a dependency of step "report" (add it to depends_on)
}
