package router_test

import (
	"context"
	"fmt"

	"github.com/a2agrpc/a2agrpc/examples/echo"
	registryv1 "github.com/a2agrpc/a2agrpc/gen/a2agrpc/registry/v1"
	a2av1 "github.com/a2agrpc/a2agrpc/gen/lf/a2a/v1"
	"github.com/a2agrpc/a2agrpc/router"
	"github.com/a2agrpc/a2agrpc/server"
	"github.com/a2agrpc/a2agrpc/server/host"
)

func ExampleRouter_Route() {
	// Two replicas of the echo agent on loopback.
	var eps []router.Endpoint
	for _, id := range []string{"echo-1", "echo-2"} {
		agent, err := host.Start(echo.Executor, host.Config{HTTPAddr: "-", Card: echo.Card(nil)})
		if err != nil {
			panic(err)
		}
		defer agent.Shutdown(context.Background())
		eps = append(eps, router.Endpoint{ID: id, Card: agent.Card()})
	}

	r, err := router.New(router.Static(eps...))
	if err != nil {
		panic(err)
	}
	defer r.Close()

	rt := r.Route(&registryv1.AgentFilter{SkillId: "echo"}, router.Policy{Balance: router.LeastOutstanding})
	ctx := context.Background()
	resp, err := rt.SendMessage(ctx, &a2av1.SendMessageRequest{Message: &a2av1.Message{
		MessageId: "example-1", Role: a2av1.Role_ROLE_USER, Parts: []*a2av1.Part{server.TextPart("hello")},
	}})
	if err != nil {
		panic(err)
	}
	// The router knows which replica holds the task.
	task, err := rt.GetTask(ctx, &a2av1.GetTaskRequest{Id: resp.GetTask().GetId()})
	if err != nil {
		panic(err)
	}
	fmt.Println(task.GetStatus().GetState())
	// Output: TASK_STATE_COMPLETED
}

func ExampleParseRules() {
	rules, err := router.ParseRules([]byte(`
rules:
  - name: translate
    match: {skill: translate}
    capability: {skill_id: translate}
    policy: {balance: least_outstanding, timeout: 30s}
  - name: default
    capability: {skill_id: echo}
`))
	if err != nil {
		panic(err)
	}
	for _, r := range rules {
		fmt.Printf("%s: skill %q → %s, %v\n", r.Name, r.Match.Skill, r.Capability.GetSkillId(), r.Policy.Balance)
	}

	_, err = router.ParseRules([]byte("rules:\n  - capability: {}\n    policy: {timeout: soon}\n"))
	fmt.Println(err)
	// Output:
	// translate: skill "translate" → translate, least_outstanding
	// default: skill "" → echo, default
	// router: rules: line 3: rules[0].policy.timeout: want a duration such as 5s or 250ms, got "soon"
}
